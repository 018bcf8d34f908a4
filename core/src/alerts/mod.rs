//! Alerts (Burgernetacties): a dispatcher's message to every participant in an area, from the
//! first draft to the closing message, with the dossier that records all of it.

pub mod sms_receipts;
