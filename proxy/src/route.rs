//! Routing: the first path segment names the upstream; the rest is appended to its URL.
//!
//! An unknown name is refused, never guessed: the set of upstreams is the egress allowlist.

use crate::upstream::Upstream;

/// Splits `/name/rest?query` into the upstream and what to append to its base URL.
pub(crate) fn route<'u, 'p>(
    upstreams: &'u [Upstream],
    path_and_query: &'p str,
) -> Option<(&'u Upstream, &'p str)> {
    let after_slash = path_and_query.strip_prefix('/')?;
    let end = after_slash.find(['/', '?']).unwrap_or(after_slash.len());
    let (name, rest) = after_slash.split_at(end);
    let upstream = upstreams.iter().find(|u| u.name == name)?;
    Some((upstream, rest))
}
