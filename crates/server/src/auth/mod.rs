//! Who is calling, and what they may do.
//!
//! Bearer tokens come from a TOML file in which only their BLAKE3 hashes are stored; a
//! presented token is hashed and looked up, and the match is confirmed in constant time.

mod live;
mod principal;
mod tokens;

pub(crate) use live::LiveTokens;
pub use principal::{Principal, Role, Scope};
pub(crate) use tokens::generate_token;
pub use tokens::{TokenEntry, TokenError, TokenFile, TokenRegistry};
