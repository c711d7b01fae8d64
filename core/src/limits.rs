//! Limits that more than one layer needs: the parsers enforce them and the errors name
//! them. They live here, below both, so that every module imports only downward. The
//! parsers re-export theirs ([`http::MAX_HEADERS`](crate::http::MAX_HEADERS),
//! [`json::MAX_DEPTH`](crate::json::MAX_DEPTH)).

/// Most header fields accepted in a head or in the trailers. LWA sends about ten.
///
/// ```
/// assert_eq!(lwa_core::limits::MAX_HEADERS, lwa_core::http::MAX_HEADERS);
/// ```
pub const MAX_HEADERS: usize = 24;

/// Deepest nesting of objects and arrays accepted in a JSON body (the response object itself
/// is level 1).
///
/// ```
/// assert_eq!(lwa_core::limits::MAX_DEPTH, lwa_core::json::MAX_DEPTH);
/// ```
pub const MAX_DEPTH: usize = 16;
