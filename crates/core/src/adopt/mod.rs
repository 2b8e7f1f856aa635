//! Bringing a site under a config: [`export`] writes the config of a live
//! site; [`import_csv`] adds the users of a spreadsheet to a config;
//! [`accept`] edits a config to accept what was changed on the site.

pub mod accept;
pub mod export;
pub mod import_csv;
pub mod propose;
mod yaml;
