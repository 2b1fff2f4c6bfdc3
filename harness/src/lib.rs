//! socklab runner library.
