//! Pictures from the ERP put in the shop's media library (issue 15, in progress): the pictures
//! fetched from URLs ([`fetch`]), the file names WordPress gives uploads ([`names`]) and the
//! files an upload makes in `wp-content/uploads` ([`store`]), and those made for a chunk that
//! never committed ([`pending`]). The sizes and the metadata row are
//! WordPress's rules in [`crate::woo::media`].

pub mod fetch;
pub mod gather;
pub mod names;
pub mod pending;
pub mod store;
