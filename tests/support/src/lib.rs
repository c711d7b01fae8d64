//! What lwa's tests and test firmwares share and no shipped crate should carry: a NOR flash
//! in RAM that can lose its power ([`flash`]).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod flash;
