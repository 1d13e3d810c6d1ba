//! woosync keeps a WooCommerce catalogue in step with an accounting/ERP feed by writing straight
//! into the shop's MySQL/MariaDB database, exactly as WooCommerce itself would.
//!
//! ```text
//!  source::csv ──► normalize ──► journal::freeze ──► catalog::load ──► plan::build ──► apply (chunks) ──► finalise ──► report
//!  (raw rows)      (items,       (frozen input,      (one pass over    (pure diff:     (one transaction  (transient    (CSV diff,
//!                   rejections)   for resume)         the shop)         Units of        per chunk, with   versions,     summary)
//!                                                                       writes)         its checkpoint)   term count)
//! ```
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
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod crashpoint;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod finalise;
pub mod fixture;
pub mod guard;
pub mod hooks;
pub mod journal;
pub mod model;
pub mod normalize;
pub mod pace;
pub mod plan;
pub mod report;
pub mod source;
pub mod woo;
