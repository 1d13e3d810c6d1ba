//! Marketplace feeds (Yandex Market, Ozon, Megamarket YML) written from the shop's database.
//! So far the pieces a feed is made of: its text rules ([`text`]) and product URLs
//! ([`crate::woo::permalink`]); `woosync feed` builds on them.

pub mod text;
