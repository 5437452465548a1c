//! Mailing list addresses, told by their host or their name: whoever is
//! on such a list reads it through the list, and its address is public.

use crate::message::Address;

/// Domain labels of mailing list hosts: `lists.example.org`,
/// `googlegroups.com`, the Linux kernel's `vger.kernel.org`.
const LIST_HOSTS: &[&str] = &[
    "lists",
    "list",
    "groups",
    "googlegroups",
    "listserv",
    "mailman",
    "vger",
];

/// The endings of list names projects use (`ceph-devel@`,
/// `user-mode-linux-user@`, `gnome-announce@`).
const LIST_SUFFIXES: &[&str] = &[
    "-devel",
    "-developers",
    "-users",
    "-user",
    "-announce",
    "-discuss",
    "-general",
    "-patches",
    "-commits",
];

/// Whether a domain is a mailing list host's.
pub(crate) fn is_list_host(domain: &str) -> bool {
    domain
        .split('.')
        .any(|label| LIST_HOSTS.iter().any(|h| label.eq_ignore_ascii_case(h)))
}

/// Whether an address is a mailing list's: at a list host, or named like
/// a list.
pub(crate) fn is_list_address(address: &Address<'_>) -> bool {
    let local = address.local_part().to_ascii_lowercase();
    address.domain().is_some_and(is_list_host) || LIST_SUFFIXES.iter().any(|s| local.ends_with(s))
}
