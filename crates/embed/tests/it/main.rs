//! Integration tests of the embedder against the reference vectors shipped with the model.

mod engines;
mod reference;
