//! Who a message reaches: each unique recipient classified once, against the
//! organisation, the configured lists and the personal-mailbox providers.
//!
//! Built once per message before any rule runs; every per-recipient lookup
//! is a hash lookup, and domains are classified once each, so the work is
//! linear in the number of recipients.

use crate::config::{Config, ConfigError, ListConfig};
use crate::mass_names::MassNames;
pub use crate::message::mailbox_key;
use crate::message::{Address, Field, Message, has_ascii_uppercase};
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator,
};
use rayon::slice::ParallelSliceMut;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// foldhash rather than std's SipHash: per-recipient hashing dominates a
/// million-recipient message, and foldhash is several times faster while
/// still seeded per process against crafted collisions.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Mailbox providers where every address is a different person: for them the
/// whole address, not the domain, is one party. Matched on the registrable
/// domain; the brands in [`PERSONAL_BRANDS`] match under any suffix.
pub(crate) const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "aol.co.uk",
    "aim.com",
    "msn.com",
    "btinternet.com",
    "btopenworld.com",
    "sky.com",
    "virginmedia.com",
    "talktalk.net",
    "ntlworld.com",
    "blueyonder.co.uk",
    "tiscali.co.uk",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "t-online.de",
    "freenet.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "ya.ru",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "tutanota.com",
    "tuta.io",
    "zoho.com",
    "fastmail.com",
    "fastmail.fm",
    "hey.com",
    "mail.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "libero.it",
    "virgilio.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "onet.pl",
    "interia.pl",
    "naver.com",
    "hanmail.net",
    "daum.net",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "earthlink.net",
    "charter.net",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "bigpond.com",
    "optusnet.com.au",
    "xtra.co.nz",
    "ymail.com",
    "rocketmail.com",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
];

/// Providers that register the same brand under many country suffixes
/// (`hotmail.co.uk`, `yahoo.fr`, `outlook.de`, ...).
pub(crate) const PERSONAL_BRANDS: &[&str] = &["hotmail", "outlook", "live", "yahoo", "windowslive"];

/// Why a recipient is an everyone-style list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MassReason {
    /// A configured list with this many members, or marked `mass = true`.
    Configured { members: Option<u64> },
    /// The local part matches this everyone-style name.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassList {
    pub reason: MassReason,
    /// The sender is one of the list's `allowed_senders`.
    pub sender_allowed: bool,
}

/// One distinct mailbox among the recipients: a view into the audience.
/// Everything but [`first`](Self::first) is read from the audience alone,
/// so that a rule walking a million recipients builds no address it does
/// not use.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The field of its first occurrence in a header every recipient sees
    /// (To, Cc), if it has one.
    pub visible: Option<Field>,
    /// Outside the organisation.
    pub external: bool,
    /// One of the sender's own addresses (From, Sender, Reply-To).
    pub own: bool,
    /// Its domain, and what the organisation makes of it.
    pub domain: &'a Domain,
    /// The configured list, if the address is one.
    pub list: Option<&'a ListConfig>,
    pub mass: Option<&'a MassList>,
    msg: &'a Message,
    /// Its first position in `Message::addresses`.
    position: u32,
}

impl<'a> Recipient<'a> {
    /// Its first occurrence in To/Cc/Bcc/Resent-*.
    pub fn first(&self) -> Address<'a> {
        self.msg.address(self.position as usize).unwrap_or_default()
    }

    /// The field of its first occurrence, without building the address.
    pub fn first_field(&self) -> Field {
        self.msg
            .field_at(self.position as usize)
            .unwrap_or_default()
    }

    /// How many people this address reaches: its configured member count,
    /// or one.
    pub fn reach(&self) -> u64 {
        reach(self.list)
    }
}

/// A domain recipients are at, as the organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Lowercased; empty for an address without one.
    pub name: String,
    /// Outside the organisation.
    pub external: bool,
    /// A personal-mailbox provider: every address there is a party of its
    /// own.
    pub personal: bool,
    /// Domains of one organisation (one registrable domain) share this
    /// number, below [`Audience::organisations`].
    pub organisation: usize,
    /// Its position among the message's domains, below
    /// [`Audience::domain_count`]: for rules that tally by domain.
    pub index: usize,
    /// Where in `name` its registrable domain starts, if it has one.
    registrable_start: Option<usize>,
}

impl Domain {
    /// Its registrable domain by the public suffix list ([`registrable`]),
    /// looked up once as the audience classified it.
    pub fn registrable(&self) -> Option<&str> {
        self.name
            .get(self.registrable_start?..without_final_dot(&self.name).len())
    }
}

/// A domain without the dot that may end it (`example.com.`): the public
/// suffix list's registrable domain has none.
fn without_final_dot(domain: &str) -> &str {
    domain.strip_suffix('.').unwrap_or(domain)
}

fn reach(list: Option<&ListConfig>) -> u64 {
    list.and_then(|l| l.members).unwrap_or(1).max(1)
}

/// A recipient as the audience stores it: 12 bytes, for a million of them.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    /// Its first position in `Message::addresses`.
    first: u32,
    /// Index into `Audience::domains` (into its chunk's domains until they
    /// are numbered).
    domain: u32,
    /// The flags, the field of its first visible occurrence (see
    /// [`VISIBLE_FIELDS`]) and the index into `Org::list_configs` (all ones
    /// when none), from the top bit down.
    bits: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 12);

/// One of the sender's own addresses.
const OWN: u32 = 1 << 31;
/// Has an entry in `Audience::masses`.
const MASS: u32 = 1 << 30;
/// The fields every recipient sees, numbered from 1 in the three bits
/// under the flags (0: not seen in any).
const VISIBLE_FIELDS: [Field; 5] = [
    Field::To,
    Field::Cc,
    Field::ResentTo,
    Field::ResentCc,
    Field::Attendee,
];
const VISIBLE_SHIFT: u32 = 27;
const VISIBLE_MASK: u32 = 0b111 << VISIBLE_SHIFT;
const LIST_MASK: u32 = (1 << VISIBLE_SHIFT) - 1;
const _: () = assert!(VISIBLE_FIELDS.len() < 1 << 3);

impl Entry {
    fn list_index(&self) -> usize {
        (self.bits & LIST_MASK) as usize
    }

    fn is(&self, flag: u32) -> bool {
        self.bits & flag != 0
    }

    fn visible(&self) -> Option<Field> {
        let code = (self.bits & VISIBLE_MASK) >> VISIBLE_SHIFT;
        VISIBLE_FIELDS.get((code as usize).checked_sub(1)?).copied()
    }

    fn set_visible(&mut self, field: Field) {
        if let Some(i) = VISIBLE_FIELDS.iter().position(|f| *f == field) {
            self.bits = self.bits & !VISIBLE_MASK | (i as u32 + 1) << VISIBLE_SHIFT;
        }
    }
}

/// An absent index in an [`Entry`] or the per-address arrays.
const NONE: u32 = u32::MAX;

#[derive(Debug)]
pub struct Audience<'m> {
    msg: &'m Message,
    /// Distinct recipients in order of first appearance.
    entries: Vec<Entry>,
    /// Their distinct domains, in order of first appearance.
    domains: Vec<Domain>,
    /// How many organisations (registrable domains) those are.
    organisations: usize,
    /// The everyone-style lists among them (few), by recipient index.
    masses: Vec<(u32, MassList)>,
    /// For each entry of `Message::addresses`, its index in `entries`
    /// (`NONE` for senders and empty entries).
    recipient_of: Vec<u32>,
    /// The total reach, kept so that no rule rescans a million recipients.
    reach: u64,
    /// The organisation's domains in force: configured, or the sender's
    /// registrable domain.
    pub org_domains: Vec<String>,
    org: &'m Org,
}

/// What the configuration says about addresses, prepared once per run so
/// that classifying a recipient is a few hash probes.
#[derive(Debug)]
pub struct Org {
    /// Configured organisation domains; empty means "the sender's".
    domains: Vec<String>,
    personal_domains: HashSet<String>,
    /// Configured lists by lowercased address: indices into `list_configs`.
    lists: FastMap<String, u32>,
    /// The part after the last `@` of each of `lists`' addresses: an
    /// address at any other domain is no configured list, unlooked-up.
    list_domains: HashSet<String>,
    list_configs: Vec<ListConfig>,
    mass_names: MassNames,
}

impl Org {
    /// Fails only when the everyone-style list names are too many or too
    /// long to match at once; [`Config::parse`] refuses such a file first.
    pub fn new(config: &Config) -> Result<Org, ConfigError> {
        let names = &config.organization.mass_list_names;
        let mass_names = MassNames::new(names).map_err(|reason| ConfigError {
            file: config.file_name(),
            line: None,
            message: format!("organization.mass_list_names: {reason}"),
        })?;
        let (lists, list_configs): (FastMap<String, u32>, _) = config
            .lists
            .iter()
            .enumerate()
            .map(|(i, (address, list))| ((address.clone(), i as u32), list.clone()))
            .unzip();
        let list_domains = lists.keys().map(|a| list_domain(a).to_string()).collect();
        Ok(Org {
            list_domains,
            domains: config.organization.domains.clone(),
            personal_domains: config
                .organization
                .personal_domains
                .iter()
                .cloned()
                .collect(),
            lists,
            list_configs,
            mass_names,
        })
    }

    /// Whether addresses at this (lowercase) domain are personal mailboxes.
    pub fn is_personal(&self, domain: &str) -> bool {
        self.is_personal_at(domain, registrable(domain))
    }

    /// [`is_personal`](Self::is_personal) given the domain's registrable
    /// domain, which callers that need it too look up once: the public
    /// suffix list's lookup costs as much as the rest of the test.
    fn is_personal_at(&self, domain: &str, registrable: Option<&str>) -> bool {
        // Looked up in a set: a search of the list compared ~80 names
        // for each domain of each message.
        static PERSONAL: LazyLock<HashSet<&str, foldhash::fast::RandomState>> =
            LazyLock::new(|| PERSONAL_DOMAINS.iter().copied().collect());
        let reg = registrable.unwrap_or(domain);
        PERSONAL.contains(reg)
            || self.personal_domains.contains(reg)
            || self.personal_domains.contains(domain)
            || reg
                .split('.')
                .next()
                .is_some_and(|brand| PERSONAL_BRANDS.contains(&brand))
    }

    /// The organisation's domains for this message: the configured ones, or
    /// else the registrable domain of the sender (none for a personal mailbox).
    pub fn domains_for(&self, msg: &Message) -> Vec<String> {
        if !self.domains.is_empty() {
            return self.domains.clone();
        }
        let Some(domain) = msg.sender().and_then(|a| a.domain()) else {
            return Vec::new();
        };
        let domain = lowercase(domain);
        let reg = registrable(&domain);
        if self.is_personal_at(&domain, reg) {
            return Vec::new();
        }
        reg.map(str::to_string).into_iter().collect()
    }

    fn mass_reason(&self, list: Option<&ListConfig>, local_part: &str) -> Option<MassReason> {
        if let Some(list) = list {
            if list.mass || list.members.is_some_and(|m| m >= MASS_LIST_MEMBERS) {
                return Some(MassReason::Configured {
                    members: list.members,
                });
            }
            // A configured list below the threshold is known not to be one,
            // whatever its name says.
            return None;
        }
        self.mass_names
            .find(local_part)
            .map(|n| MassReason::Named(n.to_string()))
    }
}

impl<'m> Audience<'m> {
    pub fn new(msg: &'m Message, org: &'m Org) -> Self {
        let org_domains = org.domains_for(msg);
        let mut recipient_of = first_occurrences(msg);
        // Each distinct recipient, at the position it is first written at,
        // looked up by its own address in chunks (on every core when there
        // are many): its `domain` is, until the domains are numbered below,
        // an index into its chunk's.
        let is_first = |&(position, &f): &(usize, &u32)| f as usize == position;
        // Counted first: a collected list would grow by doubling, holding
        // up to twice its size.
        let mut entries =
            Vec::with_capacity(recipient_of.iter().enumerate().filter(is_first).count());
        entries.extend(
            recipient_of
                .iter()
                .enumerate()
                .filter(is_first)
                .map(|(position, _)| Entry {
                    first: position as u32,
                    ..Entry::default()
                }),
        );
        let by = By {
            msg,
            org,
            org_domains: &org_domains,
            // The sender's own addresses are a handful: a list beats a hash set.
            own: msg
                .sender_addresses()
                .filter(|a| !a.addr.is_empty())
                .map(|a| mailbox_key(a.addr))
                .collect(),
        };
        let parallel = entries.len() >= PARALLEL_SORT_FROM;
        let classify = |entries: &mut [Entry]| classify(&by, entries);
        let chunks: Vec<Classified> = if parallel {
            entries
                .par_chunks_mut(CLASSIFY_CHUNK)
                .map(classify)
                .collect()
        } else {
            entries.chunks_mut(CLASSIFY_CHUNK).map(classify).collect()
        };

        // The chunks' domains numbered in order of first appearance (a few
        // per chunk), and their organisations. Domains are found by their
        // hash, so that a message of a million domains does not hold each
        // name twice; names that share a hash are kept apart in `colliding`.
        let hasher = foldhash::fast::RandomState::default();
        let mut numbered: FastMap<u64, u32> = FastMap::default();
        let mut colliding: FastMap<String, u32> = FastMap::default();
        let mut organisations: FastMap<String, usize> = FastMap::default();
        let mut domains: Vec<Domain> = Vec::new();
        let mut masses = Vec::new();
        let mut renumber: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
        for (chunk, classified) in chunks.into_iter().enumerate() {
            let base = chunk * CLASSIFY_CHUNK;
            masses.extend(
                classified
                    .masses
                    .into_iter()
                    .map(|(at, mass)| ((base + at as usize) as u32, mass)),
            );
            renumber.push(
                classified
                    .domains
                    .into_iter()
                    .map(|class| {
                        let name = &class.domain.name;
                        let hash = hasher.hash_one(name.as_str());
                        let known = match numbered.get(&hash) {
                            Some(&id)
                                if domains.get(id as usize).is_some_and(|d| d.name == *name) =>
                            {
                                Some(id)
                            }
                            Some(_) => colliding.get(name).copied(),
                            None => None,
                        };
                        if let Some(id) = known {
                            return id;
                        }
                        let id = domains.len() as u32;
                        match numbered.entry(hash) {
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(id);
                            }
                            std::collections::hash_map::Entry::Occupied(_) => {
                                colliding.insert(name.clone(), id);
                            }
                        }
                        // Recipients at the same registrable domain,
                        // personal mailboxes apart, are one party.
                        let party_key = class.domain.registrable().unwrap_or(name);
                        let organisation = match organisations.get(party_key) {
                            Some(&organisation) => organisation,
                            None => {
                                let count = organisations.len();
                                organisations.insert(party_key.to_string(), count);
                                count
                            }
                        };
                        domains.push(Domain {
                            organisation,
                            index: id as usize,
                            ..class.domain
                        });
                        id
                    })
                    .collect(),
            );
        }
        let renumber_chunk = |(entries, ids): (&mut [Entry], &Vec<u32>)| {
            for entry in entries {
                entry.domain = ids.get(entry.domain as usize).copied().unwrap_or_default();
            }
        };
        if parallel {
            entries
                .par_chunks_mut(CLASSIFY_CHUNK)
                .zip(renumber.par_iter())
                .for_each(renumber_chunk);
        } else {
            entries
                .chunks_mut(CLASSIFY_CHUNK)
                .zip(&renumber)
                .for_each(renumber_chunk);
        }

        // Each address's recipient, numbered in order of first appearance.
        // A first occurrence's index is its place among `entries`, whose
        // first positions ascend: numbered a chunk at a time (on every core
        // when there are many), each chunk's repeats kept for after.
        let number_firsts = |(chunk, positions): (usize, &mut [u32])| {
            let start = chunk * CLASSIFY_CHUNK;
            let mut next = entries.partition_point(|e| (e.first as usize) < start) as u32;
            let mut repeats = Vec::new();
            for (position, earlier) in (start..).zip(positions) {
                if *earlier as usize == position {
                    *earlier = next;
                    next += 1;
                } else if *earlier != NONE {
                    repeats.push(position);
                }
            }
            repeats
        };
        let repeats: Vec<Vec<usize>> = if parallel {
            recipient_of
                .par_chunks_mut(CLASSIFY_CHUNK)
                .enumerate()
                .map(number_firsts)
                .collect()
        } else {
            recipient_of
                .chunks_mut(CLASSIFY_CHUNK)
                .enumerate()
                .map(number_firsts)
                .collect()
        };
        // A repeat is its first occurrence's recipient, in order: one first
        // written in Bcc is visible if written again in To or Cc.
        for position in repeats.into_iter().flatten() {
            let earlier = recipient_of[position] as usize;
            let index = recipient_of.get(earlier).copied().unwrap_or(NONE);
            recipient_of[position] = index;
            if let Some(entry) = entries.get_mut(index as usize)
                && entry.visible().is_none()
                && let Some(field) = msg.field_at(position).filter(|f| f.is_visible())
            {
                entry.set_visible(field);
            }
        }
        let reach_of = |e: &Entry| reach(org.list_configs.get(e.list_index()));
        let reach = if parallel {
            entries
                .par_iter()
                .map(reach_of)
                .reduce(|| 0, u64::saturating_add)
        } else {
            entries
                .iter()
                .fold(0u64, |sum, e| sum.saturating_add(reach_of(e)))
        };
        Audience {
            msg,
            entries,
            organisations: organisations.len(),
            domains,
            masses,
            recipient_of,
            reach,
            org_domains,
            org,
        }
    }

    /// How many distinct recipients the message has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct recipients in order of first appearance.
    pub fn recipients(&self) -> impl ExactSizeIterator<Item = Recipient<'_>> + Clone {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| self.view(i, e))
    }

    /// The recipient at this index of [`recipients`](Self::recipients).
    pub fn recipient(&self, index: usize) -> Option<Recipient<'_>> {
        self.entries.get(index).map(|e| self.view(index, e))
    }

    fn view(&self, index: usize, e: &Entry) -> Recipient<'_> {
        let domain = self.domain(e);
        Recipient {
            visible: e.visible(),
            external: domain.external,
            own: e.is(OWN),
            domain,
            list: self.org.list_configs.get(e.list_index()),
            mass: e.is(MASS).then(|| self.mass(index)).flatten(),
            msg: self.msg,
            position: e.first,
        }
    }

    fn domain(&self, e: &Entry) -> &Domain {
        // Every entry's domain is numbered; the empty one stands in for none.
        static NO_DOMAIN: Domain = Domain {
            name: String::new(),
            external: false,
            personal: false,
            organisation: 0,
            index: usize::MAX,
            registrable_start: None,
        };
        self.domains.get(e.domain as usize).unwrap_or(&NO_DOMAIN)
    }

    /// How many organisations (registrable domains, personal-mailbox
    /// providers included) the recipients are at.
    pub fn organisations(&self) -> usize {
        self.organisations
    }

    /// How many distinct domains the recipients are at.
    pub fn domain_count(&self) -> usize {
        self.domains.len()
    }

    fn mass(&self, index: usize) -> Option<&MassList> {
        let at = self
            .masses
            .binary_search_by_key(&index, |(i, _)| *i as usize)
            .ok()?;
        self.masses.get(at).map(|(_, m)| m)
    }

    /// The recipient (an index into [`recipients`](Self::recipients)) that
    /// the entry at `address_index` of `Message::addresses` is, if it is one.
    pub fn recipient_index(&self, address_index: usize) -> Option<usize> {
        self.recipient_of
            .get(address_index)
            .filter(|&&i| i != NONE)
            .map(|&i| i as usize)
    }

    /// Whether addresses at this domain are personal mailboxes (gmail.com,
    /// hotmail.co.uk, ..., and `organization.personal_domains`).
    pub fn is_personal(&self, domain: &str) -> bool {
        self.org.is_personal(&domain.to_ascii_lowercase())
    }

    /// Whether a domain belongs to the organisation (subdomains included).
    pub fn is_internal(&self, domain: &str) -> bool {
        is_internal(&domain.to_ascii_lowercase(), &self.org_domains)
    }

    /// Recipients outside the organisation, not counting the sender's own
    /// addresses.
    pub fn external(&self) -> impl Iterator<Item = Recipient<'_>> {
        self.recipients().filter(|r| r.external && !r.own)
    }

    /// Whether any recipient is outside the organisation.
    pub fn goes_outside(&self) -> bool {
        self.entries
            .iter()
            .any(|e| self.domain(e).external && !e.is(OWN))
    }

    /// Whether any recipient is an everyone-style list, allowed sender or not.
    pub fn reaches_mass_list(&self) -> bool {
        !self.masses.is_empty()
    }

    /// The first recipient that is an everyone-style list, allowed sender
    /// or not.
    pub fn first_mass_list(&self) -> Option<(Recipient<'_>, &MassList)> {
        self.mass_lists().next()
    }

    /// How many people the message reaches, configured lists counting as
    /// their members.
    pub fn reach(&self) -> u64 {
        self.reach
    }

    /// Whether the sender is one of a configured list's `allowed_senders`.
    pub fn sender_allowed(&self, list: &ListConfig) -> bool {
        sender_allowed(self.msg, list)
    }

    /// Everyone-style lists the sender is not allowed to write to.
    pub fn unapproved_mass_lists(&self) -> impl Iterator<Item = (Recipient<'_>, &MassList)> {
        self.mass_lists().filter(|(_, m)| !m.sender_allowed)
    }

    /// Everyone-style lists, allowed sender or not, in order.
    pub fn mass_lists(&self) -> impl Iterator<Item = (Recipient<'_>, &MassList)> {
        self.masses.iter().filter_map(|(i, m)| {
            let i = *i as usize;
            self.entries.get(i).map(|e| (self.view(i, e), m))
        })
    }
}

/// Distinct recipients classified together (see [`classify`]).
const CLASSIFY_CHUNK: usize = 16 * 1024;

/// What recipients are classified by.
struct By<'m> {
    msg: &'m Message,
    org: &'m Org,
    org_domains: &'m [String],
    own: Vec<Cow<'m, str>>,
}

/// A chunk of distinct recipients, classified.
struct Classified {
    /// The chunk's distinct domains, in order of first appearance; each
    /// recipient's `domain` is an index here until domains are numbered.
    domains: Vec<DomainClass>,
    /// The everyone-style lists among them (few), by offset in the chunk.
    masses: Vec<(u32, MassList)>,
}

/// What the organisation makes of a domain.
struct DomainClass {
    domain: Domain,
    /// Some configured list is at this domain.
    has_lists: bool,
}

/// Fills in the entries of distinct recipients (`first` set) from their
/// own addresses: lists, the sender's own addresses, everyone-style lists,
/// and their domains, each domain classified once per chunk.
fn classify(by: &By<'_>, entries: &mut [Entry]) -> Classified {
    let (msg, org) = (by.msg, by.org);
    let mut domain_index: FastMap<Cow<'_, str>, u32> = FastMap::default();
    let mut domains: Vec<DomainClass> = Vec::new();
    let mut masses = Vec::new();
    for (offset, entry) in entries.iter_mut().enumerate() {
        let position = entry.first;
        let addr = msg.address(position as usize).unwrap_or_default();
        let domain = lowercase(addr.domain().unwrap_or(""));
        let class = match domain_index.get(&domain) {
            Some(&i) => i,
            None => {
                let i = domains.len() as u32;
                let reg = registrable(&domain);
                domains.push(DomainClass {
                    domain: Domain {
                        name: domain.to_string(),
                        external: !is_internal(&domain, by.org_domains),
                        personal: org.is_personal_at(&domain, reg),
                        organisation: 0,
                        index: 0,
                        registrable_start: reg
                            .map(|reg| without_final_dot(&domain).len() - reg.len()),
                    },
                    has_lists: org.list_domains.contains(domain.as_ref()),
                });
                domain_index.insert(domain, i);
                i
            }
        };
        let key = mailbox_key(addr.addr);
        let list = if domains[class as usize].has_lists {
            // The key already has a lowercase domain; only a local part
            // with capitals needs a lowercased copy.
            match lowercase(&key) {
                Cow::Borrowed(k) => org.lists.get(k),
                Cow::Owned(k) => org.lists.get(k.as_str()),
            }
            .copied()
        } else {
            None
        };
        let config = list.and_then(|i| org.list_configs.get(i as usize));
        let mass = org.mass_reason(config, addr.local_part()).map(|reason| {
            let sender_allowed = config.is_some_and(|l| sender_allowed(msg, l));
            masses.push((
                offset as u32,
                MassList {
                    reason,
                    sender_allowed,
                },
            ));
            MASS
        });
        let own = if by.own.contains(&key) { OWN } else { 0 };
        *entry = Entry {
            first: position,
            domain: class,
            // A configuration cannot list a hundred million lists.
            bits: list.filter(|&i| i < LIST_MASK).unwrap_or(LIST_MASK) | own | mass.unwrap_or(0),
        };
        if addr.field.is_visible() {
            entry.set_visible(addr.field);
        }
    }
    Classified { domains, masses }
}

/// The domain a list address is matched at: what follows its last `@`, as
/// [`classify`] takes a recipient's (empty without one).
fn list_domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// Whether the message's sender is one of a configured list's
/// `allowed_senders`. Asked only of the few everyone-style lists, so the
/// sender is lowercased then, not for every message.
fn sender_allowed(msg: &Message, list: &ListConfig) -> bool {
    msg.sender()
        .is_some_and(|s| allows(list, &s.addr.to_ascii_lowercase()))
}

/// Whether a (lowercase) sender is among a list's `allowed_senders`.
fn allows(list: &ListConfig, sender: &str) -> bool {
    list.allowed_senders.iter().any(|a| a == sender)
}

/// Recipients from which their mailboxes are sorted, and looked up, on
/// every core.
const PARALLEL_SORT_FROM: usize = 100_000;

/// For each entry of `msg.addresses`, the position of the first entry with
/// the same mailbox (its own position when it is the first), or
/// `NONE` for senders and empty entries.
///
/// Mailboxes are told apart by sorting (hash, position) pairs rather than
/// by probing a hash table: for a million recipients a table is far larger
/// than the processor's cache and nearly every probe misses, while a sort
/// streams through memory, and only entries that share a hash are compared.
fn first_occurrences(msg: &Message) -> Vec<u32> {
    const HASH_HALF: u64 = !(u32::MAX as u64);
    // Seeded per run, so that no input can be made of colliding hashes.
    let hasher = foldhash::fast::RandomState::default();
    // The hash's top half and the position in one number, half the size
    // of a pair and faster to sort; mailboxes that share the half are told
    // apart below.
    // Senders and empty entries get `u64::MAX`, above every key (positions
    // stay below `u32::MAX`), so that they sort to the list's end, where it
    // is cut. Each address starts as its own first occurrence (`NONE` for
    // those): the runs of equal hashes below correct the few repeats, so a
    // million distinct mailboxes cost no scattered writes.
    let key_of = |position: usize| {
        msg.address(position)
            .filter(|a| a.field.is_recipient() && !a.addr.is_empty())
            // At most `u32::MAX` addresses fit in a message maillint reads:
            // the size limit keeps messages far below 4 GB.
            .map_or((u64::MAX, NONE), |a| {
                let key = hasher.hash_one(mailbox_key(a.addr)) & HASH_HALF | position as u64;
                (key, position as u32)
            })
    };
    let positions = 0..msg.addresses().len();
    let mut keyed: Vec<u64> = Vec::with_capacity(positions.len());
    let mut first: Vec<u32> = Vec::with_capacity(positions.len());
    if positions.len() >= PARALLEL_SORT_FROM {
        positions
            .into_par_iter()
            .map(key_of)
            .unzip_into_vecs(&mut keyed, &mut first);
        keyed.par_sort_unstable();
    } else {
        (keyed, first) = positions.map(key_of).unzip();
        keyed.sort_unstable();
    }
    keyed.truncate(keyed.partition_point(|&k| k != u64::MAX));
    let key = |position: u32| mailbox_key(msg.address(position as usize).map_or("", |a| a.addr));
    // The different mailboxes within one run of equal hashes: almost always one.
    let mut distinct: Vec<u32> = Vec::new();
    for run in keyed.chunk_by(|a, b| a & HASH_HALF == b & HASH_HALF) {
        if run.len() == 1 {
            continue;
        }
        // Positions ascend within a run: a mailbox's first entry comes first.
        distinct.clear();
        for position in run.iter().map(|&k| k as u32) {
            let this = key(position);
            first[position as usize] = match distinct.iter().find(|&&d| key(d) == this) {
                Some(&earlier) => earlier,
                None => {
                    distinct.push(position);
                    position
                }
            };
        }
    }
    first
}

/// The registrable domain (`eu.partner.example.com` -> `example.com`) by the
/// public suffix list.
pub fn registrable(domain: &str) -> Option<&str> {
    // The list's answer is the end of `domain` (but for a final dot):
    // sliced by its length, not checked as UTF-8 again as
    // `psl::domain_str` does (a quarter of the look-up).
    let found = psl::domain(domain.as_bytes())?.trim().as_bytes().len();
    let end = without_final_dot(domain).len();
    domain.get(end.checked_sub(found)?..end)
}

/// Whether a (lowercase) domain ends in a suffix the public suffix list
/// knows (`.com`, `.co.uk`), rather than one it only assumes (`.js`, `.pdf`).
pub fn has_known_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known())
}

pub fn is_internal(domain: &str, org_domains: &[String]) -> bool {
    org_domains.iter().any(|org| {
        domain == org
            || (domain.len() > org.len()
                && domain.ends_with(org.as_str())
                && domain.as_bytes()[domain.len() - org.len() - 1] == b'.')
    })
}

fn lowercase(s: &str) -> Cow<'_, str> {
    if has_ascii_uppercase(s) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A configured list with at least this many members is everyone-style.
pub const MASS_LIST_MEMBERS: u64 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_providers() {
        let mut config = Config::default();
        config.organization.personal_domains = vec!["mail.example".into()];
        let org = Org::new(&config).unwrap();
        for d in [
            "gmail.com",
            "hotmail.co.uk",
            "yahoo.fr",
            "outlook.com",
            "btinternet.com",
            "mail.example",
        ] {
            assert!(org.is_personal(d), "{d}");
        }
        for d in ["example.com", "nhs.net", "hotmailer.example"] {
            assert!(!org.is_personal(d), "{d}");
        }
    }

    /// [`Org::is_personal`] as it was: the provider list searched.
    fn is_personal_by_list(org: &Org, domain: &str) -> bool {
        let reg = registrable(domain).unwrap_or(domain);
        PERSONAL_DOMAINS.contains(&reg)
            || org.personal_domains.contains(reg)
            || org.personal_domains.contains(domain)
            || reg
                .split('.')
                .next()
                .is_some_and(|brand| PERSONAL_BRANDS.contains(&brand))
    }

    proptest::proptest! {
        #[test]
        fn personal_as_by_list(
            labels in proptest::collection::vec(
                proptest::sample::select(vec![
                    "gmail", "hotmail", "yahoo", "mail", "example", "web", "gmx", "com", "co",
                    "uk", "de", "fr", "net", "", "btinternet", "uol", "br", "Gmail",
                ]),
                1..4,
            ),
        ) {
            let mut config = Config::default();
            config.organization.personal_domains = vec!["mail.example".into(), "web.de".into()];
            let org = Org::new(&config).unwrap();
            let domain = labels.join(".");
            proptest::prop_assert_eq!(org.is_personal(&domain), is_personal_by_list(&org, &domain));
        }
    }

    #[test]
    fn internal_domains_include_subdomains() {
        let org = vec!["example.ac.uk".to_string()];
        assert!(is_internal("example.ac.uk", &org));
        assert!(is_internal("mail.example.ac.uk", &org));
        assert!(!is_internal("badexample.ac.uk", &org));
        assert!(!is_internal("example.com", &org));
    }

    #[test]
    fn mailbox_key_lowercases_only_the_domain() {
        assert_eq!(mailbox_key("Bob@Example.COM"), "Bob@example.com");
        assert!(matches!(mailbox_key("bob@example.com"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        /// Sliced by its length, the registrable domain is the one
        /// `psl::domain_str` gives.
        #[test]
        fn registrable_as_the_list_gives_it(
            labels in proptest::collection::vec(
                proptest::sample::select(vec![
                    "example", "eu", "com", "co", "uk", "", "é", "xn--bcher-kva", "[192", "1]",
                    "github", "io", "s3", "amazonaws", "Com", "ck", "www",
                ]),
                1..5,
            ),
        ) {
            let domain = labels.join(".");
            proptest::prop_assert_eq!(registrable(&domain), psl::domain_str(&domain));
        }
    }

    #[test]
    fn a_domains_registrable_part_is_the_public_suffix_lists() {
        let msg = crate::message::parse_rfc5322(
            b"From: me@example.org\nTo: a@eu.Partner.example.com, b@partner.co.uk., c@example.com., d@com., e@[192.0.2.1]\n\nhi\n",
            1,
        )
        .unwrap();
        let org = Org::new(&Config::default()).unwrap();
        let audience = Audience::new(&msg, &org);
        for r in audience.recipients() {
            let name = &r.domain.name;
            assert_eq!(r.domain.registrable(), registrable(name), "{name}");
        }
        assert_eq!(audience.domain_count(), 5);
        assert_eq!(audience.organisations(), 4);
    }

    #[test]
    fn each_address_knows_its_distinct_recipient() {
        let msg = crate::message::parse_rfc5322(
            b"From: me@example.org\nTo: Ann <ann@Example.org>, everyone@example.org\nCc: ann@example.org, bob@example.org\nBcc: me@example.org\n\nhi\n",
            1,
        )
        .unwrap();
        let org = Org::new(&Config::default()).unwrap();
        let audience = Audience::new(&msg, &org);
        let addrs: Vec<&str> = audience.recipients().map(|r| r.first().addr).collect();
        assert_eq!(
            addrs,
            [
                "ann@Example.org",
                "everyone@example.org",
                "bob@example.org",
                "me@example.org"
            ]
        );
        let of: Vec<Option<usize>> = (0..msg.addresses().len())
            .map(|i| audience.recipient_index(i))
            .collect();
        // From, then To (2), Cc (2), Bcc: the Cc copy of Ann is recipient 0.
        assert_eq!(of, [None, Some(0), Some(1), Some(0), Some(2), Some(3)]);
        assert_eq!(audience.reach(), 4);
        assert_eq!(
            audience.first_mass_list().map(|(r, _)| r.first().addr),
            Some("everyone@example.org")
        );
        assert!(audience.recipient(3).unwrap().own);
    }

    #[test]
    fn one_mailbox_written_many_times_is_one_recipient() {
        // One long run of equal hashes: each entry is compared with the
        // run's one distinct mailbox, not with every entry before it.
        let copies = 50_000;
        let mut raw = String::from("From: me@example.org\nTo: ");
        for i in 0..copies {
            raw.push_str(if i % 2 == 0 {
                "Ann@Example.org,\n "
            } else {
                "Ann@example.ORG,\n "
            });
        }
        raw.push_str("bob@example.org\n\nhi\n");
        let msg = crate::message::parse_rfc5322(raw.as_bytes(), 1).unwrap();
        let org = Org::new(&Config::default()).unwrap();
        let audience = Audience::new(&msg, &org);
        assert_eq!(audience.len(), 2);
        assert_eq!(
            audience.recipient(0).unwrap().first().addr,
            "Ann@Example.org"
        );
        assert!((1..=copies).all(|i| audience.recipient_index(i) == Some(0)));
        assert_eq!(audience.recipient_index(copies + 1), Some(1));
    }
}
