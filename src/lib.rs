//! woosync keeps a WooCommerce catalogue in step with an accounting/ERP feed by writing straight
//! into the shop's MySQL/MariaDB database, exactly as WooCommerce itself would.
//!
//! ```text
//!  source::* ──► normalize ──► input (frozen ──► catalog::load ──► plan::Planner ──► apply (chunks) ──► finalise ──► report
//!  (raw rows)    (items,        blocks in the     (one pass over    (pure diff, fed    (one transaction  (transient    (CSV diff,
//!                 rejections)   journal, for      the shop, packed) the frozen blocks  per chunk, with   versions,     summary)
//!                               resume)                             one at a time)     its checkpoint)   term count)
//! ```
//! What a run holds for its whole length is the packed catalogue and its SKU index; the feed
//! and the plan pass through in blocks. [`run`] composes these modules phase by phase (lock,
//! freeze, survey, planning, write, finish); [`config`] is the plain data they all read.
//!
//! Invariants:
//! - `plan` never touches the database; `woo` holds WooCommerce's rules as pure functions.
//! - A chunk commits whole together with its checkpoint row, or not at all.
//! - Writes set values, never deltas: re-planning after a crash finds applied work unchanged.
//! - A product whose values are already right gets no write at all.
//! - A dry run walks the same path and sends no write to the database.
//! - Secrets (the database URL) never reach a log, a report or an error message.

pub mod alert;
pub mod apply;
pub mod cache;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod crashpoint;
pub mod doctor;
pub mod run;
pub mod error;
pub mod feed;
pub mod finalise;
pub mod fixture;
pub mod guard;
pub mod hooks;
pub mod input;
pub mod journal;
pub mod media;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod report;
pub mod source;
pub mod widths;
pub mod woo;
