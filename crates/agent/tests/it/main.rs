//! Integration tests of the agent on the real sample knowledge base: real model, real indexes, real
//! SQLite, real HTTP on 127.0.0.1.

mod answers;
mod cache;
mod fixture;
mod journey;
mod llm;
mod network;
mod safety;
