//! The administrators' access policy: which authentication methods are on (with group
//! exceptions), which groups may use the REST API, which client addresses may connect (globally
//! and per group), the rules for new tokens, and the rate limits.
//!
//! A [`Policy`] is plain data: one JSON document, stored as a whole with a version number, the
//! same shape in the REST API, the store and (spelled in snake case) the configuration file
//! that gives its initial state. [`Policy::admit`] is the one decision made from it before any
//! handler runs; every refusal has a stable reason code ([`PolicyDenial::reason_code`]).
//!
//! Invariants kept here:
//! - Restrictions only narrow. An address must be inside the global allowlist AND inside the
//!   list of every group of the caller that has one (and, for a token, the token's own list).
//! - A method rule's exception groups flip the rule for their members only, so "no Basic with
//!   password, except `legacy-bots`" and "sessions for all but `contractors`" are both one rule.
//! - A policy that does not validate is never stored: every field error is reported at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::principal::AuthMethod;
use crate::tokens::{TokenPolicy, canonical_ip, parse_network};

/// Most addresses (CIDR ranges) one list may hold.
pub const MAX_LIST: usize = 1000;
/// The largest rate-limit figure accepted.
pub const MAX_RATE: u32 = 1_000_000;

/// Whether a method is on, and for whom the opposite holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MethodRule {
    pub enabled: bool,
    /// Members of these groups get the opposite of `enabled`.
    pub except_groups: Vec<String>,
}

impl Default for MethodRule {
    fn default() -> Self {
        Self {
            enabled: true,
            except_groups: Vec::new(),
        }
    }
}

impl MethodRule {
    pub fn allows(&self, groups: &[String]) -> bool {
        let excepted = self.except_groups.iter().any(|g| groups.contains(g));
        self.enabled != excepted
    }
}

/// A rate-limit bucket: how many requests at once, refilled at how many per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    pub capacity: u32,
    pub per_second: u32,
}

/// Rate limits: a bucket per authenticated caller (the largest of its groups' quotas, or the
/// default), per client network for anonymous callers; exempt groups are not limited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RateLimitPolicy {
    /// Off by default, as in Jira Data Center.
    pub enabled: bool,
    pub default: Quota,
    pub anonymous: Quota,
    pub groups: BTreeMap<String, Quota>,
    pub exempt_groups: Vec<String>,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            default: Quota {
                capacity: 100,
                per_second: 10,
            },
            anonymous: Quota {
                capacity: 30,
                per_second: 3,
            },
            groups: BTreeMap::new(),
            exempt_groups: Vec::new(),
        }
    }
}

impl RateLimitPolicy {
    /// The bucket for a member of `groups`; `None` if one of them is exempt.
    pub fn quota_for(&self, groups: &[String]) -> Option<Quota> {
        if groups.iter().any(|g| self.exempt_groups.contains(g)) {
            return None;
        }
        let granted = self
            .groups
            .iter()
            .filter(|(group, _)| groups.contains(group))
            .map(|(_, quota)| *quota)
            .max_by_key(|quota| (quota.capacity, quota.per_second));
        Some(granted.unwrap_or(self.default))
    }
}

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Policy {
    /// Per method; a method not listed is enabled for everyone.
    pub methods: BTreeMap<AuthMethod, MethodRule>,
    /// Groups whose members may use the REST API; empty for every user (with USE).
    pub api_groups: Vec<String>,
    /// Addresses every request must come from; empty for anywhere.
    #[serde(with = "networks")]
    pub allowed_ips: Vec<IpNet>,
    /// Per group: addresses its members' requests must come from.
    #[serde(with = "group_networks")]
    pub group_allowed_ips: BTreeMap<String, Vec<IpNet>>,
    pub tokens: TokenPolicy,
    pub rate_limit: RateLimitPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            methods: AuthMethod::ALL
                .into_iter()
                .map(|m| (m, MethodRule::default()))
                .collect(),
            api_groups: Vec::new(),
            allowed_ips: Vec::new(),
            group_allowed_ips: BTreeMap::new(),
            tokens: TokenPolicy::default(),
            rate_limit: RateLimitPolicy::default(),
        }
    }
}

/// Why the policy refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyDenial {
    /// The client address is outside an allowlist that applies.
    #[error("Requests from this address are not allowed.")]
    IpNotAllowed,
    /// The authentication method is switched off for this user.
    #[error("The authentication method '{}' is disabled by the administrators.", .0.name())]
    MethodDisabled(AuthMethod),
    /// The user is in none of the groups allowed to use the REST API.
    #[error("Your groups are not allowed to use the REST API.")]
    GroupNotAllowed,
}

impl PolicyDenial {
    /// Stable reason code, for the body and `X-Authentication-Denied-Reason`.
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::IpNotAllowed => "ip_not_allowed",
            Self::MethodDisabled(_) => "method_disabled",
            Self::GroupNotAllowed => "group_not_allowed",
        }
    }
}

/// Where a request is going: the REST API (which the API-groups rule governs) or the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Api,
    Pages,
}

fn inside(list: &[IpNet], ip: IpAddr) -> bool {
    list.iter().any(|net| net.contains(&ip))
}

impl Policy {
    /// Whether the global allowlist lets `ip` in (asked before any credential is read).
    pub fn admits_address(&self, ip: IpAddr) -> bool {
        self.allowed_ips.is_empty() || inside(&self.allowed_ips, canonical_ip(ip))
    }

    /// Whether a member of `groups` may connect from `ip`: the global list and the list of
    /// every group of theirs that has one.
    pub fn admits_member_address(&self, groups: &[String], ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.admits_address(ip)
            && groups.iter().all(|group| {
                self.group_allowed_ips
                    .get(group)
                    .is_none_or(|list| inside(list, ip))
            })
    }

    pub fn method(&self, method: AuthMethod) -> &MethodRule {
        static ENABLED: MethodRule = MethodRule {
            enabled: true,
            except_groups: Vec::new(),
        };
        self.methods.get(&method).unwrap_or(&ENABLED)
    }

    /// Whether the method can be used by nobody at all (so a request using it can be refused
    /// before its credential is even checked).
    pub fn is_method_off_for_everyone(&self, method: AuthMethod) -> bool {
        let rule = self.method(method);
        !rule.enabled && rule.except_groups.is_empty()
    }

    /// The decision for an identified caller: address, then method, then (for the REST API)
    /// the API groups.
    pub fn admit(
        &self,
        method: AuthMethod,
        groups: &[String],
        ip: IpAddr,
        surface: Surface,
    ) -> Result<(), PolicyDenial> {
        if !self.admits_member_address(groups, ip) {
            return Err(PolicyDenial::IpNotAllowed);
        }
        if !self.method(method).allows(groups) {
            return Err(PolicyDenial::MethodDisabled(method));
        }
        if surface == Surface::Api
            && !self.api_groups.is_empty()
            && !self.api_groups.iter().any(|g| groups.contains(g))
        {
            return Err(PolicyDenial::GroupNotAllowed);
        }
        Ok(())
    }

    /// Every group the policy names, to check that they exist.
    pub fn named_groups(&self) -> BTreeSet<&str> {
        let methods = self.methods.values().flat_map(|r| r.except_groups.iter());
        let limits = self.rate_limit.groups.keys();
        methods
            .chain(&self.api_groups)
            .chain(self.group_allowed_ips.keys())
            .chain(&self.tokens.creator_groups)
            .chain(limits)
            .chain(&self.rate_limit.exempt_groups)
            .map(String::as_str)
            .collect()
    }

    /// Normalises (lower-case group names, sorted and deduplicated lists, IPv4-mapped ranges
    /// as IPv4, every method listed) and checks the policy; every problem is reported by
    /// field.
    pub fn normalised(mut self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        for method in AuthMethod::ALL {
            self.methods.entry(method).or_default();
        }
        for (method, rule) in &mut self.methods {
            normalise_groups(&mut rule.except_groups);
            check_list_len(
                &mut errors,
                &format!("methods.{}.exceptGroups", method.name()),
                rule.except_groups.len(),
            );
        }
        normalise_groups(&mut self.api_groups);
        check_list_len(&mut errors, "apiGroups", self.api_groups.len());
        normalise_networks(&mut self.allowed_ips);
        check_list_len(&mut errors, "allowedIps", self.allowed_ips.len());
        // Two spellings of one group would keep only one list (maybe the wider): refused.
        let mut lists = BTreeMap::new();
        for (group, mut list) in std::mem::take(&mut self.group_allowed_ips) {
            normalise_networks(&mut list);
            let name = group.trim().to_lowercase();
            if lists.insert(name.clone(), list).is_some() {
                errors.add_field(
                    format!("groupAllowedIps.{name}"),
                    "The group is listed twice (group names do not depend on case).",
                );
            }
        }
        self.group_allowed_ips = lists;
        for (group, list) in &self.group_allowed_ips {
            check_list_len(&mut errors, &format!("groupAllowedIps.{group}"), list.len());
            if list.is_empty() {
                errors.add_field(
                    format!("groupAllowedIps.{group}"),
                    "An empty list would refuse every request of the group's members: remove \
                     the group instead, or list the addresses it may use.",
                );
            }
        }
        normalise_groups(&mut self.tokens.creator_groups);
        if let Err(message) = self.tokens.check() {
            errors.add_field("tokens", message);
        }
        let limits = &mut self.rate_limit;
        let mut quotas = BTreeMap::new();
        for (group, quota) in std::mem::take(&mut limits.groups) {
            let name = group.trim().to_lowercase();
            if quotas.insert(name.clone(), quota).is_some() {
                errors.add_field(
                    format!("rateLimit.groups.{name}"),
                    "The group is listed twice (group names do not depend on case).",
                );
            }
        }
        limits.groups = quotas;
        normalise_groups(&mut limits.exempt_groups);
        let quotas = [
            ("rateLimit.default".to_string(), limits.default),
            ("rateLimit.anonymous".to_string(), limits.anonymous),
        ]
        .into_iter()
        .chain(
            limits
                .groups
                .iter()
                .map(|(g, q)| (format!("rateLimit.groups.{g}"), *q)),
        );
        for (field, quota) in quotas {
            let in_range = |n: u32| (1..=MAX_RATE).contains(&n);
            if !in_range(quota.capacity) || !in_range(quota.per_second) {
                errors.add_field(
                    field,
                    format!("A quota's capacity and perSecond must be from 1 to {MAX_RATE}."),
                );
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The names of the top-level sections that differ between two policies (for the audit).
    pub fn changed_sections(&self, other: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.methods != other.methods {
            changed.push("methods");
        }
        if self.api_groups != other.api_groups {
            changed.push("apiGroups");
        }
        if self.allowed_ips != other.allowed_ips {
            changed.push("allowedIps");
        }
        if self.group_allowed_ips != other.group_allowed_ips {
            changed.push("groupAllowedIps");
        }
        if self.tokens != other.tokens {
            changed.push("tokens");
        }
        if self.rate_limit != other.rate_limit {
            changed.push("rateLimit");
        }
        changed
    }
}

fn normalise_groups(groups: &mut Vec<String>) {
    for group in groups.iter_mut() {
        *group = group.trim().to_lowercase();
    }
    groups.sort();
    groups.dedup();
}

fn normalise_networks(list: &mut Vec<IpNet>) {
    list.sort();
    list.dedup();
}

/// Lists of networks are written as text: a CIDR range or a single address, IPv4-mapped
/// ranges read as IPv4 ([`parse_network`]).
mod networks {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[IpNet], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(list.iter().map(ToString::to_string))
    }

    pub fn parse<E: serde::de::Error>(texts: Vec<String>) -> Result<Vec<IpNet>, E> {
        texts
            .into_iter()
            .map(|text| {
                parse_network(&text).ok_or_else(|| {
                    E::custom(format!("'{text}' is not an IP address or CIDR range"))
                })
            })
            .collect()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
        parse::<D::Error>(Vec::<String>::deserialize(deserializer)?)
    }
}

mod group_networks {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Vec<IpNet>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(map.iter().map(|(group, list)| {
            (
                group,
                list.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Vec<IpNet>>, D::Error> {
        BTreeMap::<String, Vec<String>>::deserialize(deserializer)?
            .into_iter()
            .map(|(group, texts)| Ok((group, super::networks::parse::<D::Error>(texts)?)))
            .collect()
    }
}

fn check_list_len(errors: &mut FieldErrors, field: &str, len: usize) {
    if len > MAX_LIST {
        errors.add_field(field, format!("At most {MAX_LIST} entries are allowed."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_default_policy_admits_everyone() {
        let policy = Policy::default();
        for method in AuthMethod::ALL {
            assert_eq!(
                policy.admit(method, &[], ip("203.0.113.9"), Surface::Api),
                Ok(())
            );
        }
    }

    #[test]
    fn exception_groups_flip_a_method_rule() {
        let mut policy = Policy::default();
        policy.methods.insert(
            AuthMethod::BasicPassword,
            MethodRule {
                enabled: false,
                except_groups: groups(&["legacy-bots"]),
            },
        );
        policy.methods.insert(
            AuthMethod::Session,
            MethodRule {
                enabled: true,
                except_groups: groups(&["contractors"]),
            },
        );
        let anywhere = ip("192.0.2.1");
        let user = groups(&["jira-users"]);
        let bot = groups(&["jira-users", "legacy-bots"]);
        let contractor = groups(&["contractors", "jira-users"]);
        assert_eq!(
            policy.admit(AuthMethod::BasicPassword, &user, anywhere, Surface::Api),
            Err(PolicyDenial::MethodDisabled(AuthMethod::BasicPassword))
        );
        assert_eq!(
            policy.admit(AuthMethod::BasicPassword, &bot, anywhere, Surface::Api),
            Ok(())
        );
        assert_eq!(
            policy.admit(AuthMethod::BasicToken, &user, anywhere, Surface::Api),
            Ok(())
        );
        assert_eq!(
            policy.admit(AuthMethod::Session, &contractor, anywhere, Surface::Pages),
            Err(PolicyDenial::MethodDisabled(AuthMethod::Session))
        );
        assert!(!policy.is_method_off_for_everyone(AuthMethod::BasicPassword));
        policy.methods.insert(
            AuthMethod::BearerToken,
            MethodRule {
                enabled: false,
                except_groups: vec![],
            },
        );
        assert!(policy.is_method_off_for_everyone(AuthMethod::BearerToken));
    }

    #[test]
    fn address_lists_only_narrow() {
        let policy = Policy {
            allowed_ips: nets(&["10.0.0.0/8", "2001:db8::/32"]),
            group_allowed_ips: [
                ("contractors".to_string(), nets(&["10.1.0.0/16"])),
                (
                    "vendors".to_string(),
                    nets(&["10.1.2.0/24", "192.0.2.0/24"]),
                ),
            ]
            .into_iter()
            .collect(),
            ..Policy::default()
        };
        let method = AuthMethod::BearerToken;
        let staff = groups(&["jira-users"]);
        let contractor = groups(&["contractors", "jira-users"]);
        let both = groups(&["contractors", "vendors"]);
        let check = |groups: &[String], addr: &str| {
            policy.admit(method, groups, ip(addr), Surface::Api).is_ok()
        };
        assert!(check(&staff, "10.200.0.1"));
        assert!(check(&staff, "2001:db8::5"));
        assert!(!check(&staff, "192.0.2.1"), "outside the global list");
        // An IPv4 client on a dual-stack socket is matched as IPv4.
        assert!(check(&staff, "::ffff:10.0.0.1"));
        assert!(check(&contractor, "10.1.9.9"));
        assert!(!check(&contractor, "10.2.0.1"), "outside the group's list");
        // A group's list cannot widen the global one.
        assert!(!check(&groups(&["vendors"]), "192.0.2.7"));
        // Every group's list applies.
        assert!(check(&both, "10.1.2.3"));
        assert!(!check(&both, "10.1.3.3"));
        assert!(!policy.admits_address(ip("172.16.0.1")));
        assert_eq!(
            policy.admit(method, &staff, ip("172.16.0.1"), Surface::Api),
            Err(PolicyDenial::IpNotAllowed)
        );
    }

    #[test]
    fn api_groups_govern_the_api_only() {
        let policy = Policy {
            api_groups: groups(&["integrators"]),
            ..Policy::default()
        };
        let anywhere = ip("192.0.2.1");
        let user = groups(&["jira-users"]);
        assert_eq!(
            policy.admit(AuthMethod::Session, &user, anywhere, Surface::Api),
            Err(PolicyDenial::GroupNotAllowed)
        );
        assert_eq!(
            policy.admit(AuthMethod::Session, &user, anywhere, Surface::Pages),
            Ok(())
        );
        assert_eq!(
            policy.admit(
                AuthMethod::BearerToken,
                &groups(&["integrators"]),
                anywhere,
                Surface::Api
            ),
            Ok(())
        );
    }

    #[test]
    fn normalising_reports_every_problem() {
        let mut policy = Policy {
            api_groups: groups(&[" Integrators ", "integrators"]),
            allowed_ips: nets(&["10.0.0.0/8", "192.0.2.0/24", "10.0.0.0/8"]),
            group_allowed_ips: [("Empty".to_string(), vec![])].into_iter().collect(),
            ..Policy::default()
        };
        policy.methods.clear();
        policy.rate_limit.default.capacity = 0;
        policy.tokens.default_lifetime_days = Some(400);
        let errors = policy.clone().normalised().unwrap_err();
        assert!(errors.fields.contains_key("groupAllowedIps.empty"));
        assert!(errors.fields.contains_key("rateLimit.default"));
        assert!(errors.fields.contains_key("tokens"));
        policy.group_allowed_ips.clear();
        policy.rate_limit.default.capacity = 5;
        policy.tokens.default_lifetime_days = Some(30);
        let good = policy.normalised().unwrap();
        assert_eq!(good.api_groups, groups(&["integrators"]));
        assert_eq!(good.allowed_ips, nets(&["10.0.0.0/8", "192.0.2.0/24"]));
        assert_eq!(good.methods.len(), AuthMethod::ALL.len());
    }

    #[test]
    fn one_group_spelled_twice_is_refused() {
        let policy = Policy {
            group_allowed_ips: [
                ("Contractors".to_string(), nets(&["10.1.0.0/16"])),
                ("contractors".to_string(), nets(&["0.0.0.0/0"])),
            ]
            .into_iter()
            .collect(),
            ..Policy::default()
        };
        let errors = policy.normalised().unwrap_err();
        assert!(errors.fields.contains_key("groupAllowedIps.contractors"));
    }

    #[test]
    fn the_document_round_trips_and_refuses_unknown_fields() {
        let policy = Policy {
            api_groups: groups(&["integrators"]),
            allowed_ips: nets(&["10.0.0.0/8"]),
            ..Policy::default()
        };
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["methods"]["basic_password"]["enabled"], true);
        assert_eq!(json["allowedIps"][0], "10.0.0.0/8");
        assert_eq!(json["tokens"]["maxLifetimeDays"], 365);
        assert_eq!(json["rateLimit"]["anonymous"]["perSecond"], 3);
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, policy);
        assert!(serde_json::from_str::<Policy>(r#"{"alowedIps":[]}"#).is_err());
        assert!(serde_json::from_str::<Policy>(r#"{"methods":{"telepathy":{}}}"#).is_err());
        assert!(serde_json::from_str::<Policy>(r#"{"allowedIps":["10.0.0.300/8"]}"#).is_err());
        // Single addresses and IPv4-mapped ranges are read as the networks they name.
        let read: Policy = serde_json::from_str(
            r#"{"allowedIps":["192.0.2.7","::ffff:10.0.0.0/104"],"groupAllowedIps":{"g":["2001:db8::1"]}}"#,
        )
        .unwrap();
        assert_eq!(read.allowed_ips, nets(&["192.0.2.7/32", "10.0.0.0/8"]));
        assert_eq!(read.group_allowed_ips["g"], nets(&["2001:db8::1/128"]));
        // Omitted sections take their defaults.
        let partial: Policy = serde_json::from_str(r#"{"apiGroups":["a"]}"#).unwrap();
        assert_eq!(partial.tokens, TokenPolicy::default());
    }

    #[test]
    fn group_quotas_take_the_largest_and_exemptions_win() {
        let mut limits = RateLimitPolicy::default();
        let small = Quota {
            capacity: 10,
            per_second: 1,
        };
        let large = Quota {
            capacity: 500,
            per_second: 50,
        };
        limits.groups.insert("a".into(), small);
        limits.groups.insert("b".into(), large);
        limits.exempt_groups.push("ops".into());
        assert_eq!(limits.quota_for(&groups(&["a", "b"])), Some(large));
        assert_eq!(limits.quota_for(&groups(&["x"])), Some(limits.default));
        assert_eq!(limits.quota_for(&groups(&["a", "ops"])), None);
    }
}
