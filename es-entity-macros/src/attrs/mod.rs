//! Darling structs mirroring the attribute syntax. No defaults are filled in
//! here: `model` resolves them.

pub(crate) mod column;
pub(crate) mod entity;
pub(crate) mod event;
pub(crate) mod id;
pub(crate) mod method;
pub(crate) mod parsed;
pub(crate) mod quoted;
pub(crate) mod repo;
pub(crate) mod switch;
