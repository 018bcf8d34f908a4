pub mod inspect;
pub mod photo;
pub mod video;
