//! The store test suite: every test runs on SQLite and, when a server is configured (always
//! under CI), on PostgreSQL, each in a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::catalog::{IssueType, Priority, Resolution, Status};
use tessera_core::changelog::{ChangeAuthor, ChangeItem, CredentialUsed, OAuthClientUsed};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::model::*;
use tessera_core::permissions::{GlobalPermission, ProjectRole};
use tessera_core::store::*;
use tessera_store::{PoolOptions, SqlStore};
use tessera_testkit::{TestDatabase, backend_tests, kill_listeners};

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

async fn open(db: &TestDatabase) -> Arc<SqlStore> {
    Arc::new(
        SqlStore::open(&db.url, PoolOptions::default())
            .await
            .expect("open store"),
    )
}

async fn user(store: &SqlStore, name: &str, groups: &[&str]) -> User {
    store
        .create_user(NewUser {
            name: name.into(),
            cased_name: name.into(),
            display_name: format!("{name} Example"),
            email: Some(format!("{name}@example.com")),
            password_hash: Some(format!("$argon2id$fake${name}")),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            created: T0,
            service_owner: None,
        })
        .await
        .expect("create user")
}

async fn project(store: &SqlStore, key: &str, lead: &User) -> Project {
    store
        .create_project(NewProject {
            key: key.into(),
            name: format!("Project {key}"),
            description: None,
            lead: lead.id,
            project_type_key: "software".into(),
            created: T0,
            actors: vec![
                (ProjectRole::Administrators, RoleMember::User(lead.id)),
                (ProjectRole::Users, RoleMember::Group(USERS_GROUP.into())),
            ],
        })
        .await
        .expect("create project")
}

fn new_issue(project: &Project, creator: &User, summary: &str) -> NewIssue {
    NewIssue {
        project_id: project.id,
        issue_type: IssueType::Task,
        summary: summary.into(),
        description: Some("details".into()),
        priority: Priority::DEFAULT,
        assignee: None,
        reporter: Some(creator.id),
        creator: creator.id,
        labels: vec!["b".into(), "a".into()],
        original_estimate: None,
        remaining_estimate: None,
        planned: Vec::new(),
        created: T0,
    }
}

/// A change made by `who` with their password.
fn by(who: &User) -> ChangeAuthor {
    ChangeAuthor {
        user: who.id,
        credential: with("basic_password", None),
    }
}

fn with(kind: &str, id: Option<&str>) -> CredentialUsed {
    CredentialUsed {
        kind: kind.into(),
        id: id.map(String::from),
        oauth_client: None,
    }
}

fn item(
    field: &str,
    from: Option<&str>,
    from_string: Option<&str>,
    to: Option<&str>,
    to_string: Option<&str>,
) -> ChangeItem {
    let s = |v: Option<&str>| v.map(String::from);
    ChangeItem {
        field: field.into(),
        field_type: "jira".into(),
        from: s(from),
        from_string: s(from_string),
        to: s(to),
        to_string: s(to_string),
    }
}

const PAGE: PageRequest = PageRequest {
    start_at: 0,
    limit: 50,
};

/// Waits (at most a second) for the store's auth epoch to be known and differ from `before`.
async fn epoch_moved(store: &SqlStore, before: Option<u64>) -> u64 {
    moved(store, before, SqlStore::auth_epoch).await
}

async fn data_epoch_moved(store: &SqlStore, before: Option<u64>) -> u64 {
    moved(store, before, SqlStore::data_epoch).await
}

/// Waits at most a second for `epoch` of `store` to be known and other than `before`.
async fn moved(store: &SqlStore, before: Option<u64>, epoch: fn(&SqlStore) -> Option<u64>) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match epoch(store) {
            Some(now) if Some(now) != before => return now,
            _ if std::time::Instant::now() > deadline => {
                panic!("the epoch stayed at {before:?} for a second")
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

backend_tests! {
    async fn migrations_are_idempotent_and_seed_the_builtin_groups(db) {
        let store = open(&db).await;
        assert!(store.migrate().await.unwrap().is_empty(), "second run applies nothing");
        assert!(store.find_group(USERS_GROUP).await.unwrap().is_some());
        assert!(store.find_group(ADMINISTRATORS_GROUP).await.unwrap().is_some());
        let admin = user(&store, "root", &[USERS_GROUP, ADMINISTRATORS_GROUP]).await;
        let access = store.user_access(admin.id).await.unwrap();
        assert_eq!(access.groups, vec![ADMINISTRATORS_GROUP.to_string(), USERS_GROUP.to_string()]);
        for permission in [GlobalPermission::Use, GlobalPermission::Administer, GlobalPermission::SystemAdmin] {
            assert!(access.global.contains(permission), "{permission:?}");
        }
        let plain = user(&store, "plain", &[USERS_GROUP]).await;
        let access = store.user_access(plain.id).await.unwrap();
        assert!(access.global.contains(GlobalPermission::Use));
        assert!(!access.global.contains(GlobalPermission::Administer));
        let nobody = user(&store, "nobody", &[]).await;
        assert_eq!(store.user_access(nobody.id).await.unwrap(), UserAccess::default());
    }

    async fn users_are_unique_and_found_by_name_and_id(db) {
        let store = open(&db).await;
        assert_eq!(store.count_users().await.unwrap(), 0);
        let alice = user(&store, "alice", &[USERS_GROUP]).await;
        assert!(alice.id.0 >= 10000, "ids start at 10000 like Jira's");
        assert!(alice.active && alice.has_password);
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert_eq!(store.find_user(alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(store.find_user_by_name("alice").await.unwrap(), Some(alice.clone()));
        assert_eq!(store.find_user_by_name("bob").await.unwrap(), None);
        let again = store
            .create_user(NewUser { name: "alice".into(), cased_name: "alice".into(), display_name: "Other".into(), email: None,
                password_hash: None, groups: vec![], created: T0, service_owner: None })
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(Conflict::UserName))), "{again:?}");
        let credentials = store.find_credentials("alice").await.unwrap().unwrap();
        assert_eq!(credentials.password_hash.as_deref(), Some("$argon2id$fake$alice"));
        let sso = store
            .create_user(NewUser { name: "sso".into(), cased_name: "sso".into(), display_name: "SSO".into(), email: None,
                password_hash: None, groups: vec![], created: T0, service_owner: None })
            .await
            .unwrap();
        assert!(!sso.has_password);
        // A membership in a group that does not exist is refused, and nothing is half-written.
        let broken = store
            .create_user(NewUser { name: "ghost".into(), cased_name: "ghost".into(), display_name: "G".into(), email: None,
                password_hash: None, groups: vec!["no-such-group".into()], created: T0, service_owner: None })
            .await;
        assert!(broken.is_err());
        assert_eq!(store.find_user_by_name("ghost").await.unwrap(), None);
    }

    async fn user_search_matches_prefixes_and_respects_filters(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        user(&store, "bob", &[]).await;
        user(&store, "al_x", &[]).await;
        store.update_user(alice.id, &UserUpdate { display_name: Some("Zed Zulu".into()), ..Default::default() }).await.unwrap();
        let search = |text: &str, email: bool, active: bool, inactive: bool| UserQuery {
            text: text.into(), include_active: active, include_inactive: inactive, match_email: email,
        };
        let names = |users: Vec<User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
        assert_eq!(names(store.search_users(&search("al", false, true, false), PAGE).await.unwrap()), ["al_x", "alice"]);
        // `_` is a literal, not a LIKE wildcard.
        assert_eq!(names(store.search_users(&search("al_", false, true, false), PAGE).await.unwrap()), ["al_x"]);
        assert_eq!(names(store.search_users(&search("zul", false, true, false), PAGE).await.unwrap()), ["alice"], "second word of the display name");
        assert!(store.search_users(&search("bob@", false, true, false), PAGE).await.unwrap().is_empty(), "e-mail only when allowed");
        assert_eq!(names(store.search_users(&search("bob@", true, true, false), PAGE).await.unwrap()), ["bob"]);
        assert_eq!(store.search_users(&search(".", false, true, false), PAGE).await.unwrap().len(), 3);
        let page = PageRequest { start_at: 1, limit: 1 };
        assert_eq!(names(store.search_users(&search(".", false, true, false), page).await.unwrap()), ["alice"]);
        // Case folds beyond ASCII the same way on both stores.
        let emile = user(&store, "emile", &[]).await;
        store.update_user(emile.id, &UserUpdate { display_name: Some("Émile Zola".into()), email: Some(Some("Émile@Example.com".into())), ..Default::default() }).await.unwrap();
        assert_eq!(names(store.search_users(&search("émile", false, true, false), PAGE).await.unwrap()), ["emile"]);
        assert_eq!(names(store.search_users(&search("émile@", true, true, false), PAGE).await.unwrap()), ["emile"]);
        assert_eq!(store.search_users(&search(".", false, true, false), PAGE).await.unwrap().len(), 4);
        store.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        assert_eq!(names(store.search_users(&search("al", false, true, false), PAGE).await.unwrap()), ["al_x"]);
        assert_eq!(names(store.search_users(&search("al", false, false, true), PAGE).await.unwrap()), ["alice"]);
    }

    async fn the_auth_epoch_follows_every_instances_changes_and_only_those(db) {
        let here = open(&db).await;
        let there = open(&db).await;
        assert_eq!(here.auth_epoch(), None, "nothing may be remembered before the watch starts");
        here.watch_auth_changes();
        here.watch_auth_changes();
        let started = epoch_moved(&here, None).await;
        // This instance's own write moves it at once.
        let alice = user(&here, "alice", &[]).await;
        let own = here.auth_epoch().expect("watching");
        assert_ne!(own, started);
        // Another instance's change to a user's standing, within a second.
        there.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        let after_theirs = epoch_moved(&here, Some(own)).await;
        // ... and to a session, a group, the policy's grants.
        there.create_session(&Session { id_digest: b"s".to_vec(), user_id: alice.id, created: T0, last_seen: T0, websudo_until: None }).await.unwrap();
        there.set_websudo(b"s", Some(T0)).await.unwrap();
        let after_websudo = epoch_moved(&here, Some(after_theirs)).await;
        there.create_group("crew").await.unwrap();
        there.add_group_member("crew", alice.id).await.unwrap();
        epoch_moved(&here, Some(after_websudo)).await;
        // What decides nothing moves nothing: usage, audit, login counts, throttles, a
        // session's last-seen time.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let settled = here.auth_epoch();
        there.record_login(alice.id, T0).await.unwrap();
        there.record_failed_login(alice.id, T0).await.unwrap();
        there.touch_session(b"s", Timestamp::from_millis(T0.as_millis() + 1)).await.unwrap();
        there.take_login_attempt("user:alice", T0, T0, 5, 1_000).await.unwrap();
        there.take_login_attempt("ip:192.0.2.1", T0, T0, 1, 1_000).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        assert_eq!(here.auth_epoch(), settled, "usage columns change on every request and decide nothing");
        // A user name's password logins suspended: a remembered password must wait too.
        there.block_login("user:alice", Timestamp::from_millis(T0.as_millis() + 60_000)).await.unwrap();
        let settled = Some(epoch_moved(&here, settled).await);
        if db.url.starts_with("postgres") {
            // The listening connection killed: a change made before it is back must still
            // move the epoch once it is.
            assert_eq!(kill_listeners(&db.url).await, [true], "one listener");
            there.update_user(alice.id, &UserUpdate { active: Some(true), ..Default::default() }).await.unwrap();
            let resumed = epoch_moved(&here, settled).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(here.auth_epoch().is_some(), "listening again");
            there.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
            epoch_moved(&here, Some(resumed).filter(|_| here.auth_epoch() == Some(resumed))).await;
        }
    }

    async fn the_data_epoch_follows_every_instances_work_changes_and_only_those(db) {
        let here = open(&db).await;
        let there = open(&db).await;
        assert_eq!(here.data_epoch(), None, "nothing may be remembered before the watch starts");
        here.watch_auth_changes();
        let started = data_epoch_moved(&here, None).await;
        let alice = user(&here, "alice", &[]).await;
        let lead = project(&here, "EPO", &alice).await;
        let issue = here.create_issue(new_issue(&lead, &alice, "watched")).await.unwrap();
        // This instance's own work writes move it at once, and leave the auth epoch alone.
        let own = here.data_epoch().expect("watching");
        assert_ne!(own, started);
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let (auth, data) = (here.auth_epoch(), here.data_epoch());
        here.add_comment(issue.id, alice.id, "mine", None, T0).await.unwrap();
        let after_mine = here.data_epoch().expect("watching");
        assert_ne!(Some(after_mine), data);
        // Another instance's, within a second: a comment; the creator no longer watching.
        there.add_comment(issue.id, alice.id, "theirs", None, T0).await.unwrap();
        let after_theirs = data_epoch_moved(&here, Some(after_mine)).await;
        assert!(there.remove_watcher(issue.id, alice.id).await.unwrap());
        data_epoch_moved(&here, Some(after_theirs)).await;
        assert_eq!(here.auth_epoch(), auth, "work data decides no credential");
        // The request trail moves neither.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let settled = here.data_epoch();
        there.record_login(alice.id, T0).await.unwrap();
        there.take_login_attempt("ip:192.0.2.1", T0, T0, 5, 1_000).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        assert_eq!(here.data_epoch(), settled, "the request trail is in no remembered answer");
        if db.url.starts_with("postgres") {
            // The listening connection killed: a change made before it is back still moves it.
            assert_eq!(kill_listeners(&db.url).await, [true], "one listener");
            there.add_comment(issue.id, alice.id, "while deaf", None, T0).await.unwrap();
            let resumed = data_epoch_moved(&here, settled).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(here.data_epoch().is_some(), "listening again");
            there.add_comment(issue.id, alice.id, "heard", None, T0).await.unwrap();
            data_epoch_moved(&here, Some(resumed).filter(|_| here.data_epoch() == Some(resumed))).await;
        }
    }

    async fn password_changes_end_sessions_but_the_kept_one(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        for digest in [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()] {
            store.create_session(&Session { id_digest: digest, user_id: alice.id, created: T0, last_seen: T0, websudo_until: None }).await.unwrap();
        }
        let later = Timestamp::from_millis(T0.as_millis() + 1000);
        store.touch_session(b"two", later).await.unwrap();
        let swap = SessionSwap { old: b"two", new: b"two-renewed" };
        assert!(store.set_password_hash(alice.id, Some("$new"), Some(swap)).await.unwrap());
        assert_eq!(store.find_credentials("alice").await.unwrap().unwrap().password_hash.as_deref(), Some("$new"));
        assert!(store.find_session(b"one").await.unwrap().is_none());
        assert!(store.find_session(b"two").await.unwrap().is_none(), "the old id is gone");
        let (kept, _) = store.find_session(b"two-renewed").await.unwrap().unwrap();
        assert_eq!((kept.created, kept.last_seen), (T0, later), "the session keeps its times");
        assert!(store.set_password_hash(alice.id, None, None).await.unwrap());
        assert!(store.find_session(b"two-renewed").await.unwrap().is_none());
        assert!(!store.find_user(alice.id).await.unwrap().unwrap().has_password);
        assert!(!store.set_password_hash(UserId(1), Some("$x"), None).await.unwrap());
        store.create_session(&Session { id_digest: b"four".to_vec(), user_id: alice.id, created: T0, last_seen: T0, websudo_until: None }).await.unwrap();
        store.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        assert!(store.find_session(b"four").await.unwrap().is_none(), "deactivation ends sessions");
    }

    async fn login_info_counts_successes_and_failures(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        assert_eq!(store.login_info(alice.id).await.unwrap(), LoginInfo::default());
        let t1 = Timestamp::from_millis(T0.as_millis() + 1000);
        let t2 = Timestamp::from_millis(T0.as_millis() + 2000);
        store.record_login(alice.id, T0).await.unwrap();
        store.record_failed_login(alice.id, t1).await.unwrap();
        store.record_failed_login(alice.id, t1).await.unwrap();
        let info = store.login_info(alice.id).await.unwrap();
        assert_eq!((info.login_count, info.failed_login_count), (1, 2));
        assert_eq!(info.last_failed_login, Some(t1));
        store.record_login(alice.id, t2).await.unwrap();
        let info = store.login_info(alice.id).await.unwrap();
        assert_eq!((info.login_count, info.failed_login_count), (2, 0));
        assert_eq!((info.previous_login, info.last_login), (Some(T0), Some(t2)));
    }

    async fn groups_and_memberships(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let bob = user(&store, "bob", &[]).await;
        store.create_group("devs").await.unwrap();
        assert!(matches!(store.create_group("devs").await, Err(StoreError::Conflict(Conflict::GroupName))));
        assert!(store.add_group_member("devs", alice.id).await.unwrap());
        assert!(!store.add_group_member("devs", alice.id).await.unwrap(), "already a member");
        assert!(store.add_group_member("devs", bob.id).await.unwrap());
        assert!(store.add_group_member("no-such", bob.id).await.is_err());
        let page = store.group_members("devs", false, PageRequest { start_at: 1, limit: 1 }).await.unwrap();
        assert_eq!((page.total, page.items.len()), (2, 1));
        assert_eq!(page.items[0].name, "bob");
        store.update_user(bob.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        assert_eq!(store.group_members("devs", false, PAGE).await.unwrap().total, 1);
        assert_eq!(store.group_members("devs", true, PAGE).await.unwrap().total, 2);
        assert!(store.remove_group_member("devs", alice.id).await.unwrap());
        assert!(!store.remove_group_member("devs", alice.id).await.unwrap());
        let lead = user(&store, "lead", &[]).await;
        let p = project(&store, "AB", &lead).await;
        store.add_role_members(p.id, ProjectRole::Developers, &[RoleMember::Group("devs".into())]).await.unwrap();
        assert!(store.delete_group("devs").await.unwrap());
        assert!(!store.delete_group("devs").await.unwrap());
        assert!(store.find_group("devs").await.unwrap().is_none());
        assert!(store.user_access(bob.id).await.unwrap().groups.is_empty());
        let actors = store.role_actors(p.id).await.unwrap();
        assert!(!actors.iter().any(|(_, a)| *a == RoleActor::Group("devs".into())));
    }

    async fn projects_and_roles(db) {
        let store = open(&db).await;
        let lead = user(&store, "lead", &[USERS_GROUP]).await;
        let dev = user(&store, "dev", &[USERS_GROUP]).await;
        let outsider = user(&store, "outsider", &[]).await;
        let p = project(&store, "ABC", &lead).await;
        assert!(p.id.0 >= 10000);
        assert_eq!(p.lead.as_ref().map(|u| u.id), Some(lead.id));
        assert_eq!(store.find_project_by_key("ABC").await.unwrap(), Some(p.clone()));
        assert_eq!(store.find_project(p.id).await.unwrap(), Some(p.clone()));
        assert_eq!(store.find_project_by_key("abc").await.unwrap(), None, "keys are stored upper-case");
        let mut twin = NewProject { key: "ABC".into(), name: "Other".into(), description: None, lead: lead.id,
            project_type_key: "software".into(), created: T0, actors: vec![] };
        assert!(matches!(store.create_project(twin.clone()).await, Err(StoreError::Conflict(Conflict::ProjectKey))));
        twin.key = "XYZ".into();
        twin.name = "project abc".into();
        assert!(matches!(store.create_project(twin).await, Err(StoreError::Conflict(Conflict::ProjectName))), "names clash without regard to case");

        assert_eq!(store.user_roles(p.id, lead.id).await.unwrap().len(), 2, "administrator directly, user through jira-users");
        assert_eq!(store.user_roles(p.id, dev.id).await.unwrap(), vec![ProjectRole::Users]);
        assert!(store.user_roles(p.id, outsider.id).await.unwrap().is_empty());
        store.add_role_members(p.id, ProjectRole::Developers, &[RoleMember::User(dev.id), RoleMember::User(dev.id)]).await.unwrap();
        let mut roles = store.user_roles(p.id, dev.id).await.unwrap();
        roles.sort();
        assert_eq!(roles, vec![ProjectRole::Users, ProjectRole::Developers]);
        let q = project(&store, "QQ", &dev).await;
        let mut everywhere = store.user_roles_everywhere(dev.id).await.unwrap();
        everywhere.sort();
        assert_eq!(everywhere, vec![
            (p.id, ProjectRole::Users), (p.id, ProjectRole::Developers),
            (q.id, ProjectRole::Users), (q.id, ProjectRole::Administrators),
        ]);
        assert!(store.remove_role_member(p.id, ProjectRole::Developers, &RoleMember::User(dev.id)).await.unwrap());
        assert!(!store.remove_role_member(p.id, ProjectRole::Developers, &RoleMember::User(dev.id)).await.unwrap());
        store.set_role_members(p.id, ProjectRole::Users, &[RoleMember::User(outsider.id)]).await.unwrap();
        assert!(store.user_roles(p.id, dev.id).await.unwrap().is_empty(), "jira-users no longer in Users");
        assert_eq!(store.user_roles(p.id, outsider.id).await.unwrap(), vec![ProjectRole::Users]);
        let actors = store.role_actors(p.id).await.unwrap();
        assert!(actors.contains(&(ProjectRole::Users, RoleActor::User(outsider.clone()))));
        assert!(!actors.iter().any(|(r, a)| *r == ProjectRole::Users && matches!(a, RoleActor::Group(_))));
        let keys: Vec<_> = store.list_projects().await.unwrap().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["ABC", "QQ"]);
        let ghost = store.add_role_members(p.id, ProjectRole::Users, &[RoleMember::Group("nope".into())]).await;
        assert!(ghost.is_err());
    }

    async fn issues_are_created_read_updated_and_deleted(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[USERS_GROUP]).await;
        let bob = user(&store, "bob", &[USERS_GROUP]).await;
        let p = project(&store, "ABC", &alice).await;
        let first = store.create_issue(new_issue(&p, &alice, "first")).await.unwrap();
        assert_eq!(first.key(), "ABC-1");
        assert_eq!(first.status, Status::ToDo);
        assert_eq!(first.labels, ["a", "b"], "labels come back sorted");
        assert_eq!(first.reporter.as_ref().map(|u| u.id), Some(alice.id));
        assert_eq!(first.creator.as_ref().map(|u| u.id), Some(alice.id));
        assert_eq!(first.assignee, None);
        let second = store.create_issue(new_issue(&p, &alice, "second")).await.unwrap();
        assert_eq!(second.key(), "ABC-2");
        assert_eq!(store.find_issue_by_key("ABC", 2).await.unwrap().map(|i| i.id), Some(second.id));
        assert_eq!(store.find_issue_by_key("ABC", 3).await.unwrap(), None);
        assert_eq!(store.find_issue(first.id).await.unwrap(), Some(first.clone()));

        let later = Timestamp::from_millis(T0.as_millis() + 5_000);
        let changes = IssueChanges {
            summary: Some("renamed".into()),
            description: Some(None),
            issue_type: Some(IssueType::Bug),
            priority: Some(Priority::High),
            assignee: Some(Some(bob.id)),
            add_labels: vec!["c".into(), "a".into()],
            remove_labels: vec!["b".into()],
            comments: vec!["done by edit".into()],
            ..Default::default()
        };
        let updated = store.update_issue(first.id, &changes, &by(&bob), later).await.unwrap().unwrap();
        assert_eq!(updated.summary, "renamed");
        assert_eq!(updated.description, None);
        assert_eq!((updated.issue_type, updated.priority), (IssueType::Bug, Priority::High));
        assert_eq!(updated.assignee.as_ref().map(|u| u.id), Some(bob.id));
        assert_eq!(updated.labels, ["a", "c"]);
        assert_eq!(updated.updated, later);
        assert_eq!(updated.created, T0);
        let comments = store.list_comments(first.id, bob.id, PAGE, false).await.unwrap();
        assert_eq!(comments.total, 1);
        assert_eq!(comments.items[0].author.as_ref().map(|u| u.id), Some(bob.id));

        let set = IssueChanges { set_labels: Some(vec!["z".into()]), ..Default::default() };
        assert_eq!(store.update_issue(first.id, &set, &by(&bob), later).await.unwrap().unwrap().labels, ["z"]);

        let to_done = IssueChanges {
            status: Some(StatusChange { from: Status::ToDo, to: Status::Done, resolution: Some(Resolution::Done) }),
            ..Default::default()
        };
        let done = store.update_issue(first.id, &to_done, &by(&bob), later).await.unwrap().unwrap();
        assert_eq!((done.status, done.resolution, done.resolution_date), (Status::Done, Some(Resolution::Done), Some(later)));
        // The same step again starts from a status that no longer holds.
        let stale = store.update_issue(first.id, &to_done, &by(&bob), later).await;
        assert!(matches!(stale, Err(StoreError::Conflict(Conflict::StaleStatus))), "{stale:?}");
        let back = IssueChanges {
            status: Some(StatusChange { from: Status::Done, to: Status::InProgress, resolution: None }),
            ..Default::default()
        };
        let reopened = store.update_issue(first.id, &back, &by(&bob), later).await.unwrap().unwrap();
        assert_eq!((reopened.status, reopened.resolution, reopened.resolution_date), (Status::InProgress, None, None));

        assert!(store.delete_issue(first.id).await.unwrap());
        assert!(!store.delete_issue(first.id).await.unwrap());
        assert_eq!(store.find_issue(first.id).await.unwrap(), None);
        assert_eq!(store.list_comments(first.id, bob.id, PAGE, false).await.unwrap().total, 0);
        assert_eq!(store.update_issue(first.id, &set, &by(&bob), later).await.unwrap(), None);
        // Numbers are never reused after a delete.
        assert_eq!(store.create_issue(new_issue(&p, &alice, "third")).await.unwrap().key(), "ABC-3");
    }

    async fn every_change_is_in_the_changelog_with_its_author_and_credential(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[USERS_GROUP]).await;
        let bob = user(&store, "bob", &[USERS_GROUP]).await;
        let p = project(&store, "LOG", &alice).await;
        let issue = store.create_issue(new_issue(&p, &alice, "first")).await.unwrap();
        assert_eq!(store.list_changelog(issue.id, PAGE).await.unwrap().total, 0, "creation is not a change");
        let at = |s: i64| Timestamp::from_millis(T0.as_millis() + s * 1000);

        let script = ChangeAuthor { user: bob.id, credential: with("bearer_token", Some("42")) };
        let edit = IssueChanges {
            summary: Some("renamed".into()),
            assignee: Some(Some(bob.id)),
            add_labels: vec!["c".into()],
            remove_labels: vec!["a".into()],
            ..Default::default()
        };
        store.update_issue(issue.id, &edit, &script, at(1)).await.unwrap().unwrap();
        let log = store.list_changelog(issue.id, PAGE).await.unwrap();
        assert_eq!(log.total, 1);
        let entry = &log.items[0];
        assert_eq!(entry.issue_id, issue.id);
        assert_eq!(entry.author.as_ref().map(|u| u.id), Some(bob.id));
        assert_eq!(entry.created, at(1));
        assert_eq!(entry.credential, with("bearer_token", Some("42")));
        let bob_key = bob.key();
        assert_eq!(entry.items, [
            item("summary", None, Some("first"), None, Some("renamed")),
            item("assignee", None, None, Some(&bob_key), Some("bob Example")),
            item("labels", None, Some("a b"), None, Some("b c")),
        ]);

        // Nothing that changes no field makes an entry: the same values again, a comment.
        let same = IssueChanges { summary: Some("renamed".into()), comments: vec!["just talk".into()], ..Default::default() };
        store.update_issue(issue.id, &same, &by(&alice), at(2)).await.unwrap().unwrap();
        assert_eq!(store.list_changelog(issue.id, PAGE).await.unwrap().total, 1);

        // A workflow step by an OAuth 2.0 client: status and resolution, and the client.
        let client = CredentialUsed {
            kind: "oauth2".into(),
            id: Some("oauth:7".into()),
            oauth_client: Some(OAuthClientUsed { client_id: "ci-bot".into(), name: "CI bot".into() }),
        };
        let app = ChangeAuthor { user: alice.id, credential: client.clone() };
        let to_done = IssueChanges {
            status: Some(StatusChange { from: Status::ToDo, to: Status::Done, resolution: Some(Resolution::Done) }),
            ..Default::default()
        };
        store.update_issue(issue.id, &to_done, &app, at(3)).await.unwrap().unwrap();
        // A failed change (its starting status no longer holds) records nothing.
        let stale = store.update_issue(issue.id, &to_done, &app, at(4)).await;
        assert!(matches!(stale, Err(StoreError::Conflict(Conflict::StaleStatus))), "{stale:?}");
        // A resolved issue's resolution can be corrected; an unresolved one's cannot be set.
        let wont_do = IssueChanges { resolution: Some(Resolution::WontDo), ..Default::default() };
        let corrected = store.update_issue(issue.id, &wont_do, &by(&bob), at(5)).await.unwrap().unwrap();
        assert_eq!((corrected.status, corrected.resolution), (Status::Done, Some(Resolution::WontDo)));
        let other = store.create_issue(new_issue(&p, &alice, "open")).await.unwrap();
        let refused = store.update_issue(other.id, &wont_do, &by(&bob), at(5)).await;
        assert!(matches!(refused, Err(StoreError::Conflict(Conflict::StaleStatus))), "{refused:?}");
        assert_eq!(store.find_issue(other.id).await.unwrap().unwrap().resolution, None);
        assert_eq!(store.list_changelog(other.id, PAGE).await.unwrap().total, 0);

        let log = store.list_changelog(issue.id, PAGE).await.unwrap();
        assert_eq!(log.total, 3);
        assert_eq!(log.items[1].credential, client);
        assert_eq!(log.items[1].items, [
            item("status", Some("10000"), Some("To Do"), Some("10001"), Some("Done")),
            item("resolution", None, None, Some("10000"), Some("Done")),
        ]);
        assert_eq!(log.items[2].items, [item("resolution", Some("10000"), Some("Done"), Some("10001"), Some("Won't Do"))]);
        assert!(log.items.windows(2).all(|w| w[0].id < w[1].id), "oldest first");

        // Paging: the middle entry alone, with the exact total.
        let middle = store.list_changelog(issue.id, PageRequest { start_at: 1, limit: 1 }).await.unwrap();
        assert_eq!((middle.total, middle.items.len()), (3, 1));
        assert_eq!(middle.items[0], log.items[1]);
        let past = store.list_changelog(issue.id, PageRequest { start_at: 5, limit: 1 }).await.unwrap();
        assert_eq!((past.total, past.items.len()), (3, 0));

        assert!(store.delete_issue(issue.id).await.unwrap());
        assert_eq!(store.list_changelog(issue.id, PAGE).await.unwrap().total, 0);
    }

    async fn concurrent_changes_make_a_chained_history(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let p = project(&store, "RACE", &alice).await;
        let issue = store.create_issue(new_issue(&p, &alice, "s")).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..20 {
            let store = store.clone();
            let author = by(&alice);
            let changes = IssueChanges { summary: Some(format!("s{n}")), ..Default::default() };
            tasks.push(tokio::spawn(async move { store.update_issue(issue.id, &changes, &author, T0).await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap().unwrap();
        }
        // Each entry starts where the one before ended: every "before" was read under the
        // change's own lock.
        let log = store.list_changelog(issue.id, PAGE).await.unwrap();
        assert_eq!(log.total, 20);
        let mut current = "s".to_string();
        for entry in &log.items {
            assert_eq!(entry.items.len(), 1);
            assert_eq!(entry.items[0].from_string.as_deref(), Some(current.as_str()));
            current = entry.items[0].to_string.clone().unwrap();
        }
        assert_eq!(store.find_issue(issue.id).await.unwrap().unwrap().summary, current);
    }

    async fn watchers_are_kept_once_and_go_with_their_issue(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let bob = user(&store, "bob", &[]).await;
        let carol = user(&store, "carol", &[]).await;
        let p = project(&store, "WAT", &alice).await;
        let mut filed = new_issue(&p, &carol, "watched");
        filed.reporter = Some(bob.id);
        let issue = store.create_issue(filed).await.unwrap();
        let names = |users: Vec<User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
        assert_eq!(names(store.list_watchers(issue.id).await.unwrap()), ["bob", "carol"], "reporter and creator watch");
        assert!(store.add_watcher(issue.id, alice.id, T0).await.unwrap());
        assert!(!store.add_watcher(issue.id, alice.id, T0).await.unwrap(), "once");
        assert_eq!(names(store.list_watchers(issue.id).await.unwrap()), ["alice", "bob", "carol"]);
        assert_eq!(store.watches(issue.id, alice.id).await.unwrap(), Watches { count: 3, is_watching: true });
        assert!(store.remove_watcher(issue.id, bob.id).await.unwrap());
        assert!(!store.remove_watcher(issue.id, bob.id).await.unwrap());
        assert_eq!(store.watches(issue.id, bob.id).await.unwrap(), Watches { count: 2, is_watching: false });
        // Watches and votes in one read agree with each read alone, for every viewer.
        assert!(store.add_vote(issue.id, bob.id, T0).await.unwrap());
        for viewer in [&alice, &bob, &carol] {
            let (watches, votes) = store.watches_and_votes(issue.id, viewer.id).await.unwrap();
            assert_eq!(watches, store.watches(issue.id, viewer.id).await.unwrap());
            assert_eq!(votes, store.votes(issue.id, viewer.id).await.unwrap());
        }
        let (_, votes) = store.watches_and_votes(issue.id, bob.id).await.unwrap();
        assert_eq!((votes.count, votes.has_voted), (1, true));
        assert!(matches!(store.add_watcher(tessera_core::ids::IssueId(1), alice.id, T0).await, Err(StoreError::MissingReference)));
        assert!(store.delete_issue(issue.id).await.unwrap());
        assert_eq!(store.list_watchers(issue.id).await.unwrap(), Vec::new());
        assert_eq!(store.watches(issue.id, alice.id).await.unwrap(), Watches::default());
    }

    async fn a_failed_issue_insert_leaves_no_gap(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let p = project(&store, "GAP", &alice).await;
        let mut broken = new_issue(&p, &alice, "broken");
        broken.assignee = Some(UserId(999_999));
        assert!(matches!(store.create_issue(broken).await, Err(StoreError::MissingReference)));
        assert_eq!(store.create_issue(new_issue(&p, &alice, "ok")).await.unwrap().key(), "GAP-1");
        let missing_project = NewIssue { project_id: ProjectId(1), ..new_issue(&p, &alice, "x") };
        assert!(matches!(store.create_issue(missing_project).await, Err(StoreError::MissingReference)));
    }

    async fn concurrent_creations_get_distinct_consecutive_keys(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let p = project(&store, "CON", &alice).await;
        let mut tasks = Vec::new();
        for n in 0..100 {
            let store = store.clone();
            let issue = new_issue(&p, &alice, &format!("issue {n}"));
            tasks.push(tokio::spawn(async move { store.create_issue(issue).await }));
        }
        let mut numbers = Vec::new();
        for task in tasks {
            numbers.push(task.await.unwrap().unwrap().number);
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=100).collect::<Vec<_>>());
    }

    async fn comments_page_and_order(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let bob = user(&store, "bob", &[]).await;
        let p = project(&store, "CM", &alice).await;
        let issue = store.create_issue(new_issue(&p, &alice, "talk")).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..5 {
            let at = Timestamp::from_millis(T0.as_millis() + n);
            ids.push(store.add_comment(issue.id, alice.id, &format!("c{n}"), None, at).await.unwrap().id);
        }
        let page = store.list_comments(issue.id, alice.id, PageRequest { start_at: 1, limit: 2 }, false).await.unwrap();
        assert_eq!(page.total, 5);
        assert_eq!(page.items.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
        for (start_at, limit, shown) in [(4, 10, 1), (10, 10, 0), (0, 50, 5), (0, 0, 0)] {
            let page = store.list_comments(issue.id, alice.id, PageRequest { start_at, limit }, false).await.unwrap();
            assert_eq!((page.total, page.items.len()), (5, shown), "start {start_at}, limit {limit}");
        }
        let newest = store.list_comments(issue.id, alice.id, PageRequest { start_at: 0, limit: 1 }, true).await.unwrap();
        assert_eq!(newest.items[0].body, "c4");
        let later = Timestamp::from_millis(T0.as_millis() + 60_000);
        let edited = store.update_comment(ids[0], "edited", None, bob.id, later).await.unwrap().unwrap();
        assert_eq!(edited.body, "edited");
        assert_eq!(edited.author.as_ref().map(|u| u.id), Some(alice.id));
        assert_eq!(edited.update_author.as_ref().map(|u| u.id), Some(bob.id));
        assert_eq!((edited.created, edited.updated), (T0, later));
        assert!(store.delete_comment(ids[0]).await.unwrap());
        assert!(!store.delete_comment(ids[0]).await.unwrap());
        assert_eq!(store.find_comment(ids[0]).await.unwrap(), None);
        assert_eq!(store.update_comment(ids[0], "x", None, bob.id, later).await.unwrap(), None);
        assert_eq!(store.find_issue(issue.id).await.unwrap().unwrap().updated, Timestamp::from_millis(T0.as_millis() + 4), "adding a comment updates the issue");
    }

    async fn sessions_touch_and_expire(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let bob = user(&store, "bob", &[]).await;
        let at = |s: i64| Timestamp::from_millis(T0.as_millis() + s * 1000);
        store.create_session(&Session { id_digest: b"a".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0), websudo_until: None }).await.unwrap();
        store.create_session(&Session { id_digest: b"b".to_vec(), user_id: alice.id, created: at(100), last_seen: at(100), websudo_until: None }).await.unwrap();
        store.create_session(&Session { id_digest: b"c".to_vec(), user_id: bob.id, created: at(100), last_seen: at(100), websudo_until: None }).await.unwrap();
        assert!(store.create_session(&Session { id_digest: b"c".to_vec(), user_id: bob.id, created: at(0), last_seen: at(0), websudo_until: None }).await.is_err());
        store.touch_session(b"a", at(50)).await.unwrap();
        store.touch_session(b"a", at(40)).await.unwrap();
        let (session, owner) = store.find_session(b"a").await.unwrap().unwrap();
        assert_eq!(session.last_seen, at(50), "last seen never goes back");
        assert_eq!(owner, alice);
        assert_eq!(store.delete_expired_sessions(at(60), at(-1)).await.unwrap(), 1, "a: idle since 50");
        assert_eq!(store.delete_expired_sessions(at(0), at(101)).await.unwrap(), 2, "b and c: too old");
        store.create_session(&Session { id_digest: b"d".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0), websudo_until: None }).await.unwrap();
        store.create_session(&Session { id_digest: b"e".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0), websudo_until: None }).await.unwrap();
        assert_eq!(store.delete_user_sessions(alice.id, Some(b"e")).await.unwrap(), 1);
        assert!(store.delete_session(b"e").await.unwrap());
        assert!(!store.delete_session(b"e").await.unwrap());
    }

    async fn server_keys_are_created_once(db) {
        let store = open(&db).await;
        let first = store.server_key("xsrf", b"first value").await.unwrap();
        let second = store.server_key("xsrf", b"other value").await.unwrap();
        assert_eq!(first, b"first value");
        assert_eq!(second, first);
        let other_instance = open(&db).await;
        assert_eq!(other_instance.server_key("xsrf", b"third").await.unwrap(), first);
    }

    async fn data_survives_reopening(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let p = project(&store, "KEEP", &alice).await;
        let issue = store.create_issue(new_issue(&p, &alice, "kept")).await.unwrap();
        store.close().await;
        drop(store);
        let reopened = open(&db).await;
        assert_eq!(reopened.find_issue(issue.id).await.unwrap(), Some(issue));
    }
}

fn token_for(
    owner: &User,
    name: &str,
    expires: Option<Timestamp>,
) -> tessera_core::tokens::NewToken {
    tessera_core::tokens::NewToken {
        kind: tessera_core::tokens::TokenKind::Personal,
        owner: owner.id,
        name: name.into(),
        digest: format!("digest of {name}").into_bytes(),
        scopes: tessera_core::scopes::Scopes::all(),
        projects: None,
        allowed_ips: Vec::new(),
        created: T0,
        created_by: Some(owner.id),
        expires,
    }
}

fn event(action: &str, ip: &str, at: Timestamp) -> tessera_core::audit::AuditEvent {
    tessera_core::audit::AuditEvent::anonymous(
        at,
        ip.parse().unwrap(),
        action,
        format!("user:{ip}"),
    )
}

/// The policy, usage, retention and websudo parts of the store.
mod policy_and_usage {
    use super::*;
    use std::time::Duration;
    use tessera_core::audit::{ActionMatch, AuditFilter, Outcome};
    use tessera_core::usage::{ClientUse, CredentialUse};

    backend_tests! {
        async fn the_policy_is_seeded_once_and_replaced_by_version(db) {
            let store = open(&db).await;
            assert_eq!(store.find_policy().await.unwrap(), None);
            assert_eq!(store.policy_version().await.unwrap(), 0);
            let alice = user(&store, "alice", &[]).await;
            assert_eq!(store.user_access(alice.id).await.unwrap().policy_version, 0);
            let first = store.seed_policy("{\"a\":1}", T0).await.unwrap();
            assert_eq!((first.version, first.document.as_str(), first.updated_by.as_deref()), (1, "{\"a\":1}", None));
            // A second instance starting later finds the stored one.
            let again = open(&db).await.seed_policy("{\"b\":2}", T0).await.unwrap();
            assert_eq!(again, first);
            let audit = event("policy.changed", "192.0.2.1", T0);
            let at = Timestamp::from_millis(T0.as_millis() + 5);
            assert_eq!(store.replace_policy(1, "{\"c\":3}", at, Some("admin"), &audit).await.unwrap(), Some(2));
            // Based on a version no longer stored: nothing is written, the event neither.
            assert_eq!(store.replace_policy(1, "{\"d\":4}", at, Some("eve"), &audit).await.unwrap(), None);
            let stored = store.find_policy().await.unwrap().unwrap();
            assert_eq!((stored.version, stored.document.as_str(), stored.updated_by.as_deref()), (2, "{\"c\":3}", Some("admin")));
            assert_eq!(store.user_access(alice.id).await.unwrap().policy_version, 2);
            assert_eq!(store.recent_audit(10).await.unwrap().len(), 1);
        }

        async fn usage_adds_up_and_reports_each_new_address_once(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let day = tessera_core::usage::day_of(T0);
            let client = |ip: &str, at: i64, agent: &str| ClientUse {
                ip: ip.into(),
                user_agent: Some(agent.into()),
                first_seen: Timestamp::from_millis(T0.as_millis() + at),
                last_seen: Timestamp::from_millis(T0.as_millis() + at),
                requests: 2,
            };
            let used = |clients: Vec<ClientUse>| CredentialUse {
                credential: "token:7".into(),
                user_id: alice.id,
                days: vec![(day, 4), (day + 1, 1)],
                clients,
            };
            let new = store.record_usage(&[used(vec![client("192.0.2.1", 0, "a/1")])], &[], 100).await.unwrap();
            assert_eq!(new.len(), 1);
            assert_eq!((new[0].credential.as_str(), new[0].ip.as_str()), ("token:7", "192.0.2.1"));
            // Two instances flushing the same address: reported once; a later user agent wins.
            let again = store.record_usage(&[used(vec![client("192.0.2.1", 10, "a/2"), client("2001:db8::1", 5, "b/1")])], &[], 100).await.unwrap();
            assert_eq!(again.iter().map(|c| c.ip.as_str()).collect::<Vec<_>>(), ["2001:db8::1"]);
            let report = store.credential_usage("token:7", day, 10).await.unwrap();
            assert_eq!(report.days, vec![(day + 1, 2), (day, 8)]);
            let first = report.clients.iter().find(|c| c.ip == "192.0.2.1").unwrap();
            assert_eq!((first.requests, first.user_agent.as_deref()), (4, Some("a/2")));
            assert_eq!(first.first_seen, T0);
            assert_eq!(first.user_name.as_deref(), Some("alice"));
            // An older flush arriving late moves nothing backwards.
            store.record_usage(&[used(vec![client("192.0.2.1", 1, "old/0")])], &[], 100).await.unwrap();
            let report = store.credential_usage("token:7", day, 1).await.unwrap();
            assert_eq!(report.clients.len(), 1, "limited to the latest");
            assert_eq!(report.clients[0].user_agent.as_deref(), Some("a/2"));
            let since = Timestamp::from_millis(T0.as_millis() + 3);
            let recent = store.credentials_with_new_clients(since, 10).await.unwrap();
            assert_eq!(recent, ["token:7"]);
            assert!(store.credentials_with_new_clients(Timestamp::from_millis(T0.as_millis() + 6), 10).await.unwrap().is_empty());
            // A credential keeps a bounded number of addresses: beyond, new ones are counted
            // in its days but neither kept nor reported.
            let more = store.record_usage(&[used(vec![client("198.51.100.1", 20, "c"), client("198.51.100.2", 21, "c")])], &[], 3).await.unwrap();
            assert_eq!(more.len(), 1, "room for one more");
            assert_eq!(store.clients_of(&["token:7".into()]).await.unwrap().len(), 3);
            // Passwords' last use, for the unused-credentials view.
            let passwords = store.password_last_used().await.unwrap();
            assert_eq!(passwords.iter().find(|(u, _)| u.id == alice.id).unwrap().1, None);
            let password = format!("password:{}", alice.id);
            store.record_usage(&[CredentialUse { credential: password, user_id: alice.id, days: vec![(day, 1)], clients: vec![client("192.0.2.9", 7, "c")] }], &[], 100).await.unwrap();
            let passwords = store.password_last_used().await.unwrap();
            let last = passwords.iter().find(|(u, _)| u.id == alice.id).unwrap().1;
            assert_eq!(last, Some(Timestamp::from_millis(T0.as_millis() + 7)));
        }

        async fn the_token_limit_counts_live_tokens_only(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let past = Some(Timestamp::from_millis(T0.as_millis() - 1));
            store.create_token(token_for(&alice, "expired", past), Some(2)).await.unwrap();
            let one = store.create_token(token_for(&alice, "one", None), Some(2)).await.unwrap();
            store.create_token(token_for(&alice, "two", None), Some(2)).await.unwrap();
            let refused = store.create_token(token_for(&alice, "three", None), Some(2)).await;
            assert!(matches!(refused, Err(StoreError::Conflict(Conflict::TokenLimit))), "{refused:?}");
            let audit = event("token.revoked", "192.0.2.1", T0);
            store.revoke_token(one.id, T0, tessera_core::tokens::RevokeReason::Owner, &audit).await.unwrap();
            store.create_token(token_for(&alice, "three", None), Some(2)).await.unwrap();
            store.create_token(token_for(&alice, "four", None), None).await.unwrap();
        }

        async fn retention_deletes_only_what_is_old(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let old = Timestamp::from_millis(T0.as_millis() - 1000);
            store.record_audit(&[event("login.failed", "192.0.2.1", old), event("login.failed", "192.0.2.2", T0)]).await.unwrap();
            assert_eq!(store.delete_audit_before(Timestamp::from_millis(T0.as_millis() - 1)).await.unwrap(), 1);
            assert_eq!(store.recent_audit(10).await.unwrap().len(), 1);
            let day = tessera_core::usage::day_of(T0);
            let old_client = ClientUse { ip: "192.0.2.1".into(), user_agent: None, first_seen: old, last_seen: old, requests: 1 };
            let new_client = ClientUse { ip: "192.0.2.2".into(), user_agent: None, first_seen: T0, last_seen: T0, requests: 1 };
            store.record_usage(&[CredentialUse { credential: "token:1".into(), user_id: alice.id, days: vec![(day - 10, 1), (day, 1)], clients: vec![old_client, new_client] }], &[], 100).await.unwrap();
            assert_eq!(store.delete_usage_before(day - 1, Timestamp::from_millis(T0.as_millis() - 1)).await.unwrap(), 2);
            let report = store.credential_usage("token:1", 0, 10).await.unwrap();
            assert_eq!((report.days.len(), report.clients.len()), (1, 1));
            // A failure count is forgotten once both its last failure and its wait are over.
            let window = Timestamp::from_millis(T0.as_millis() - 500);
            store.take_login_attempt("user:old", old, Timestamp::from_millis(0), 100, 1000).await.unwrap();
            store.take_login_attempt("user:new", T0, Timestamp::from_millis(0), 100, 1000).await.unwrap();
            store.take_login_attempt("user:waiting", old, Timestamp::from_millis(0), 1, 10_000).await.unwrap();
            assert_eq!(store.delete_stale_login_failures(window).await.unwrap(), 1);
            assert!(store.clear_login_failures("user:new").await.unwrap());
            assert!(store.clear_login_failures("user:waiting").await.unwrap(), "still waiting: kept");
        }

        async fn audit_filters_take_ranges_prefixes_and_targets(db) {
            let store = open(&db).await;
            let mut events = vec![
                event("login.failed", "10.1.2.3", T0),
                event("login.succeeded", "10.200.0.1", T0),
                event("token.created", "2001:db8::5", T0),
                event("login_failed", "192.0.2.1", T0),
            ];
            events[0].outcome = Outcome::Failure;
            events[0].user_agent = Some("curl/8".into());
            events[0].repeats = 7;
            events[2].request_id = Some("lb-7f3a.1".into());
            store.record_audit(&events).await.unwrap();
            let page = PageRequest { start_at: 0, limit: 50 };
            let list = |filter: AuditFilter| {
                let store = store.clone();
                async move { store.list_audit(&filter, page).await.unwrap() }
            };
            let in_ten = list(AuditFilter { client_net: Some("10.0.0.0/8".parse().unwrap()), ..AuditFilter::default() }).await;
            assert_eq!(in_ten.total, 2);
            let v6 = list(AuditFilter { client_net: Some("2001:db8::/32".parse().unwrap()), ..AuditFilter::default() }).await;
            assert_eq!(v6.items[0].action, "token.created");
            let one = list(AuditFilter { client_net: Some("10.1.2.3/32".parse().unwrap()), ..AuditFilter::default() }).await;
            assert_eq!((one.items[0].repeats, one.items[0].user_agent.as_deref()), (7, Some("curl/8")));
            // `login.*` is a prefix; the `_` of another action is not a wildcard.
            let logins = list(AuditFilter { action: Some(ActionMatch::parse("login.*")), ..AuditFilter::default() }).await;
            assert_eq!(logins.total, 2);
            let exact = list(AuditFilter { action: Some(ActionMatch::parse("login_")), ..AuditFilter::default() }).await;
            assert_eq!(exact.total, 0);
            let underscore = list(AuditFilter { action: Some(ActionMatch::parse("login_*")), ..AuditFilter::default() }).await;
            assert_eq!(underscore.total, 1);
            let target = list(AuditFilter { target: Some("user:2001:db8::5".into()), ..AuditFilter::default() }).await;
            assert_eq!(target.total, 1);
            let failures = list(AuditFilter { outcome: Some(Outcome::Failure), ..AuditFilter::default() }).await;
            assert_eq!(failures.total, 1);
            // The request an event was recorded in.
            let request = list(AuditFilter { request_id: Some("lb-7f3a.1".into()), ..AuditFilter::default() }).await;
            assert_eq!(request.total, 1);
            assert_eq!((request.items[0].action.as_str(), request.items[0].request_id.as_deref()), ("token.created", Some("lb-7f3a.1")));
            assert_eq!(one.items[0].request_id, None);
        }

        async fn websudo_belongs_to_one_session(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            for id in [b"one".to_vec(), b"two".to_vec()] {
                store.create_session(&Session { id_digest: id, user_id: alice.id, created: T0, last_seen: T0, websudo_until: None }).await.unwrap();
            }
            let until = T0.plus(Duration::from_secs(600));
            assert!(store.set_websudo(b"one", Some(until)).await.unwrap());
            assert_eq!(store.find_session(b"one").await.unwrap().unwrap().0.websudo_until, Some(until));
            assert_eq!(store.find_session(b"two").await.unwrap().unwrap().0.websudo_until, None);
            assert!(store.set_websudo(b"one", None).await.unwrap());
            assert_eq!(store.find_session(b"one").await.unwrap().unwrap().0.websudo_until, None);
            assert!(!store.set_websudo(b"gone", Some(until)).await.unwrap());
        }
    }
}

/// The OAuth 2.0 records: single-use codes, rotation with reuse detection, revocation.
mod oauth {
    use super::*;
    use tessera_core::oauth2::*;
    use tessera_core::scopes::{Scopes, parse_scope};

    async fn client(store: &SqlStore) -> Client {
        store
            .create_client(NewClient {
                client_id: "c1".into(),
                name: "App".into(),
                redirect_uris: vec![
                    "https://app.example/cb".into(),
                    "http://127.0.0.1/cb".into(),
                ],
                confidential: false,
                secret_digest: None,
                scopes: parse_scope("WRITE").unwrap(),
                service_account: None,
                created: T0,
                created_by: None,
            })
            .await
            .unwrap()
    }

    fn token(
        digest: &str,
        kind: OAuth2TokenKind,
        grant: &Grant,
        code: Option<&str>,
    ) -> NewOAuth2Token {
        NewOAuth2Token {
            digest: digest.as_bytes().to_vec(),
            kind,
            grant: Some(grant.id),
            client: grant.client,
            user: grant.user,
            scopes: grant.scopes,
            code_digest: code.map(|c| c.as_bytes().to_vec()),
            created: T0,
            expires: None,
        }
    }

    fn event() -> tessera_core::audit::AuditEvent {
        super::event("oauth.refresh_token.reused", "192.0.2.1", T0)
    }

    backend_tests! {
        async fn clients_and_grants(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let app = client(&store).await;
            assert_eq!(app.redirect_uris.len(), 2);
            assert!(matches!(store.create_client(NewClient { client_id: "c1".into(), name: "Dup".into(), redirect_uris: vec![], confidential: false, secret_digest: None, scopes: Scopes::all(), service_account: None, created: T0, created_by: None }).await, Err(StoreError::Conflict(_))));
            let read = parse_scope("READ").unwrap();
            let first = store.grant(app.key, alice.id, read, T0).await.unwrap();
            // A second consent widens the live grant instead of making another.
            let write = parse_scope("write:jira-work").unwrap();
            let second = store.grant(app.key, alice.id, write, T0).await.unwrap();
            assert_eq!(second.id, first.id);
            assert_eq!(second.scopes, read.union(write));
            assert_eq!(store.list_grants(Some(alice.id)).await.unwrap().len(), 1);
            assert!(store.revoke_grant(first.id, T0, "owner", &event()).await.unwrap());
            assert!(!store.revoke_grant(first.id, T0, "owner", &event()).await.unwrap(), "once");
            assert!(store.find_live_grant(app.key, alice.id).await.unwrap().is_none());
            let third = store.grant(app.key, alice.id, read, T0).await.unwrap();
            assert_ne!(third.id, first.id, "after a revocation, a new grant");
            let disabled = store.update_client(app.key, &ClientChanges { enabled: Some(false), ..ClientChanges::default() }, T0).await.unwrap().unwrap();
            assert!(!disabled.enabled);
            assert_eq!(disabled.name, "App", "unchanged fields stay");
        }

        async fn a_code_is_spent_once_with_its_tokens_even_when_raced(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let app = client(&store).await;
            let grant = store.grant(app.key, alice.id, Scopes::all(), T0).await.unwrap();
            store.create_code(NewCode { digest: b"code".to_vec(), grant: grant.id, redirect_uri: "https://app.example/cb".into(), redirect_uri_given: true, scopes: grant.scopes, code_challenge: Some("c".into()), expires: T0 }).await.unwrap();
            let (code, spent) = store.find_code(b"code").await.unwrap().unwrap();
            assert!(!spent);
            assert_eq!((code.user, code.client, code.code_challenge.as_deref(), code.redirect_uri_given), (alice.id, app.key, Some("c"), true));
            // Four redemptions at once, each with its own tokens: one wins and keeps them; the
            // others store nothing, and as replays revoke what the code issued.
            let redeem = |n: usize| {
                let store = store.clone();
                let tokens = vec![token(&format!("a{n}"), OAuth2TokenKind::Access, &grant, Some("code"))];
                async move { store.redeem_code(b"code", T0, &tokens).await.unwrap() }
            };
            let results = futures_all(vec![redeem(0), redeem(1), redeem(2), redeem(3)]).await;
            assert_eq!(results.iter().filter(|r| **r == Redemption::Fresh).count(), 1, "{results:?}");
            assert_eq!(results.iter().filter(|r| **r == Redemption::Replayed).count(), 3);
            let winner = (0..4).find(|n| results[*n] == Redemption::Fresh).unwrap();
            let stored = store.find_oauth_token(format!("a{winner}").as_bytes()).await.unwrap().unwrap();
            assert!(stored.revoked.is_some(), "the replays revoked the winner's token");
            for loser in (0..4).filter(|n| *n != winner) {
                assert!(store.find_oauth_token(format!("a{loser}").as_bytes()).await.unwrap().is_none());
            }
            assert!(store.find_code(b"code").await.unwrap().unwrap().1, "spent");
            assert_eq!(store.redeem_code(b"other", T0, &[]).await.unwrap(), Redemption::Unknown);
            assert!(store.find_code(b"other").await.unwrap().is_none());
        }

        async fn a_refresh_token_rotates_once_and_its_reuse_revokes_the_grant(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let app = client(&store).await;
            let grant = store.grant(app.key, alice.id, Scopes::all(), T0).await.unwrap();
            store.create_oauth_tokens(&[token("a1", OAuth2TokenKind::Access, &grant, None), token("r1", OAuth2TokenKind::Refresh, &grant, None)]).await.unwrap();
            let found = store.find_oauth_token(b"r1").await.unwrap().unwrap();
            assert_eq!((found.kind, found.user.name.as_str(), found.client.client_id.as_str()), (OAuth2TokenKind::Refresh, "alice", "c1"));
            assert!(found.is_live(T0));
            let next = [token("a2", OAuth2TokenKind::Access, &grant, None), token("r2", OAuth2TokenKind::Refresh, &grant, None)];
            assert!(matches!(store.rotate_refresh_token(b"r1", T0, &next, &event()).await.unwrap(), Rotation::Rotated));
            assert!(!store.find_oauth_token(b"r1").await.unwrap().unwrap().is_live(T0), "spent");
            assert!(store.find_oauth_token(b"r2").await.unwrap().unwrap().is_live(T0));
            // The spent one again: the grant and every token of it are revoked.
            let later = [token("a3", OAuth2TokenKind::Access, &grant, None), token("r3", OAuth2TokenKind::Refresh, &grant, None)];
            assert!(matches!(store.rotate_refresh_token(b"r1", T0, &later, &event()).await.unwrap(), Rotation::Reused(Some(_))));
            assert!(store.find_oauth_token(b"a3").await.unwrap().is_none(), "nothing new was stored");
            for digest in [b"a2", b"r2"] {
                assert!(!store.find_oauth_token(digest).await.unwrap().unwrap().is_live(T0));
            }
            assert!(store.find_grant(grant.id).await.unwrap().unwrap().revoked.is_some());
            assert_eq!(store.recent_audit(10).await.unwrap().len(), 1, "the reuse is recorded once");
            assert!(matches!(store.rotate_refresh_token(b"zz", T0, &later, &event()).await.unwrap(), Rotation::Unknown));
        }

        async fn revoking_a_refresh_token_takes_its_access_tokens(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let app = client(&store).await;
            let grant = store.grant(app.key, alice.id, Scopes::all(), T0).await.unwrap();
            store.create_oauth_tokens(&[token("a1", OAuth2TokenKind::Access, &grant, None), token("a2", OAuth2TokenKind::Access, &grant, None), token("r1", OAuth2TokenKind::Refresh, &grant, None)]).await.unwrap();
            assert!(store.revoke_oauth_token(b"a1", T0).await.unwrap());
            assert!(store.find_oauth_token(b"a2").await.unwrap().unwrap().revoked.is_none(), "an access token alone");
            assert!(store.revoke_oauth_token(b"r1", T0).await.unwrap());
            assert!(store.find_oauth_token(b"a2").await.unwrap().unwrap().revoked.is_some(), "RFC 7009 §2.1");
            assert!(!store.revoke_oauth_token(b"r1", T0).await.unwrap());
        }

        async fn expired_codes_and_tokens_are_deleted(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let app = client(&store).await;
            let grant = store.grant(app.key, alice.id, Scopes::all(), T0).await.unwrap();
            let later = Timestamp::from_millis(T0.as_millis() + 1000);
            store.create_code(NewCode { digest: b"old".to_vec(), grant: grant.id, redirect_uri: "x".into(), redirect_uri_given: false, scopes: grant.scopes, code_challenge: None, expires: T0 }).await.unwrap();
            store.create_code(NewCode { digest: b"new".to_vec(), grant: grant.id, redirect_uri: "x".into(), redirect_uri_given: false, scopes: grant.scopes, code_challenge: None, expires: later }).await.unwrap();
            let mut old = token("a1", OAuth2TokenKind::Access, &grant, None);
            old.expires = Some(T0);
            let mut fresh = token("a2", OAuth2TokenKind::Access, &grant, None);
            fresh.expires = Some(later);
            store.create_oauth_tokens(&[old, fresh]).await.unwrap();
            assert_eq!(store.delete_expired_oauth(Timestamp::from_millis(T0.as_millis() + 1)).await.unwrap(), 2);
            assert!(store.find_oauth_token(b"a2").await.unwrap().is_some());
            assert_eq!(store.redeem_code(b"new", T0, &[]).await.unwrap(), Redemption::Fresh);
            assert_eq!(store.redeem_code(b"old", T0, &[]).await.unwrap(), Redemption::Unknown);
        }
    }

    /// Runs the futures concurrently; their results in order.
    async fn futures_all<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}

/// The OAuth 1.0a records: consumers (deleted with their tokens) and single-use nonces.
mod oauth1 {
    use super::*;
    use tessera_core::oauth1::*;

    fn consumer(key: &str) -> NewConsumer {
        NewConsumer {
            consumer_key: key.into(),
            name: format!("App {key}"),
            public_key: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----".into(),
            callback: OUT_OF_BAND.into(),
            created: T0,
            created_by: None,
            run_as: None,
        }
    }

    fn nonce(token: &str, timestamp: i64, value: &str) -> Nonce {
        Nonce {
            consumer_key: "jira-cli".into(),
            token: token.into(),
            timestamp,
            nonce: value.into(),
        }
    }

    backend_tests! {
        async fn consumers_are_kept_exactly_and_deleted_with_an_event(db) {
            let store = open(&db).await;
            let made = store.create_consumer(consumer("jira-cli")).await.unwrap();
            assert_eq!((made.consumer_key.as_str(), made.callback.as_str()), ("jira-cli", "oob"));
            assert!(matches!(
                store.create_consumer(consumer("jira-cli")).await,
                Err(StoreError::Conflict(Conflict::ConsumerKey))
            ));
            // Keys are exact: another case is another consumer.
            store.create_consumer(consumer("Jira-CLI")).await.unwrap();
            assert!(store.find_consumer("JIRA-CLI").await.unwrap().is_none());
            let names: Vec<String> = store.list_consumers().await.unwrap().into_iter().map(|c| c.consumer_key).collect();
            assert_eq!(names.len(), 2);
            let changes = ConsumerChanges { name: Some("Renamed".into()), callback: Some("https://app.example/cb".into()), ..ConsumerChanges::default() };
            let updated = store.update_consumer("jira-cli", &changes).await.unwrap().unwrap();
            assert_eq!((updated.name.as_str(), updated.callback.as_str()), ("Renamed", "https://app.example/cb"));
            assert_eq!(updated.public_key, made.public_key, "an absent field is kept");
            assert!(store.update_consumer("nobody", &changes).await.unwrap().is_none());
            // Two-legged requests' user: set, kept by other changes, cleared.
            assert_eq!(updated.run_as, None);
            let bot = user(&store, "bot", &[]).await;
            let on = ConsumerChanges { run_as: Some(Some(bot.id)), ..ConsumerChanges::default() };
            assert_eq!(store.update_consumer("jira-cli", &on).await.unwrap().unwrap().run_as, Some(bot.id));
            assert_eq!(store.update_consumer("jira-cli", &changes).await.unwrap().unwrap().run_as, Some(bot.id));
            let off = ConsumerChanges { run_as: Some(None), ..ConsumerChanges::default() };
            assert_eq!(store.update_consumer("jira-cli", &off).await.unwrap().unwrap().run_as, None);
            let event = super::event("oauth1.consumer.deleted", "192.0.2.1", T0);
            assert!(store.delete_consumer("jira-cli", &event).await.unwrap());
            assert!(!store.delete_consumer("jira-cli", &event).await.unwrap());
            assert!(store.find_consumer("jira-cli").await.unwrap().is_none());
            let recorded = store.recent_audit(10).await.unwrap();
            assert_eq!(recorded.iter().filter(|e| e.action == "oauth1.consumer.deleted").count(), 1, "one event, with the one deletion");
        }

        async fn a_request_token_is_approved_once_and_exchanged_once(db) {
            let store = open(&db).await;
            let dev = user(&store, "dev", &[]).await;
            let made = store.create_consumer(consumer("jira-cli")).await.unwrap();
            let token = |digest: &str, kind, user: Option<UserId>| NewOAuth1Token {
                digest: digest.as_bytes().to_vec(),
                kind,
                consumer: made.id,
                user,
                scopes: tessera_core::scopes::Scopes::empty(),
                callback: Some("oob".into()),
                created: T0,
                expires: Some(T0.plus(std::time::Duration::from_secs(600))),
            };
            store.create_oauth1_token(token("req", OAuth1TokenKind::Request, None)).await.unwrap();
            let found = store.find_oauth1_token(b"req").await.unwrap().unwrap();
            assert_eq!((found.kind, found.user.is_none(), found.consumer.consumer_key.as_str()), (OAuth1TokenKind::Request, true, "jira-cli"));
            assert!(found.is_live(T0));
            assert!(!found.is_live(T0.plus(std::time::Duration::from_secs(600))), "expired");
            let write = tessera_core::scopes::parse_scope("WRITE").unwrap();
            // Not exchangeable before approval.
            assert!(!store.exchange_request_token(b"req", token("acc0", OAuth1TokenKind::Access, Some(dev.id)), T0).await.unwrap());
            assert!(store.approve_request_token(b"req", dev.id, write, b"verifier", T0).await.unwrap());
            assert!(!store.approve_request_token(b"req", dev.id, write, b"other", T0).await.unwrap(), "once");
            let approved = store.find_oauth1_token(b"req").await.unwrap().unwrap();
            assert_eq!((approved.user.unwrap().name.as_str(), approved.scopes, approved.verifier_digest.as_deref()), ("dev", write, Some(&b"verifier"[..])));
            // Ten exchanges at once: one access token.
            let mut racers = Vec::new();
            for n in 0..10 {
                let store = store.clone();
                let access = token(&format!("acc{n}"), OAuth1TokenKind::Access, Some(dev.id));
                racers.push(tokio::spawn(async move { store.exchange_request_token(b"req", access, T0).await.unwrap() }));
            }
            let mut wins = 0;
            for racer in racers {
                wins += usize::from(racer.await.unwrap());
            }
            assert_eq!(wins, 1);
            let live = store.list_oauth1_tokens(Some(dev.id)).await.unwrap();
            assert_eq!(live.len(), 1);
            assert_eq!(live[0].kind, OAuth1TokenKind::Access);
            assert!(store.find_oauth1_token(b"req").await.unwrap().unwrap().used.is_some(), "spent");
            // A late request token never approved cannot be approved once expired.
            store.create_oauth1_token(token("late", OAuth1TokenKind::Request, None)).await.unwrap();
            assert!(!store.approve_request_token(b"late", dev.id, write, b"v", T0.plus(std::time::Duration::from_secs(601))).await.unwrap());
            // Revoked once, with its event; then no longer listed.
            let event = super::event("oauth1.token.revoked", "192.0.2.1", T0);
            assert!(store.revoke_oauth1_token(live[0].id, T0, &event).await.unwrap());
            assert!(!store.revoke_oauth1_token(live[0].id, T0, &event).await.unwrap());
            assert!(store.list_oauth1_tokens(None).await.unwrap().is_empty());
            // Deleting the consumer deletes every token it holds.
            store.create_oauth1_token(token("kept", OAuth1TokenKind::Access, Some(dev.id))).await.unwrap();
            assert_eq!(store.list_oauth1_tokens(None).await.unwrap().len(), 1);
            assert!(store.delete_consumer("jira-cli", &event).await.unwrap());
            assert!(store.find_oauth1_token(b"kept").await.unwrap().is_none());
            assert!(store.list_oauth1_tokens(None).await.unwrap().is_empty());
        }

        async fn a_nonce_is_used_once_even_when_raced(db) {
            let store = open(&db).await;
            assert!(store.use_nonce(&nonce("tok", 100, "n1")).await.unwrap());
            assert!(!store.use_nonce(&nonce("tok", 100, "n1")).await.unwrap(), "a replay");
            // Another token, timestamp or consumer makes another nonce.
            assert!(store.use_nonce(&nonce("", 100, "n1")).await.unwrap());
            assert!(store.use_nonce(&nonce("tok", 101, "n1")).await.unwrap());
            let other = Nonce { consumer_key: "other".into(), ..nonce("tok", 100, "n1") };
            assert!(store.use_nonce(&other).await.unwrap());
            // Ten requests with the same nonce at once: exactly one wins.
            let mut racers = Vec::new();
            for _ in 0..10 {
                let store = store.clone();
                racers.push(tokio::spawn(async move { store.use_nonce(&nonce("tok", 200, "raced")).await.unwrap() }));
            }
            let mut wins = 0;
            for racer in racers {
                wins += usize::from(racer.await.unwrap());
            }
            assert_eq!(wins, 1);
            // Many at once, in one write: a replay of an earlier one and a repeat within the
            // batch are refused, the rest spent.
            let batch = [nonce("tok", 300, "a"), nonce("tok", 100, "n1"), nonce("tok", 300, "b"), nonce("tok", 300, "a")];
            assert_eq!(store.use_nonces(&batch).await.unwrap(), [true, false, true, false]);
            assert_eq!(store.use_nonces(&batch[..1]).await.unwrap(), [false], "spent by the batch");
            assert!(store.use_nonces(&[]).await.unwrap().is_empty());
            // More than one statement's worth: each spent once, then refused.
            let many: Vec<Nonce> = (0..450).map(|i| nonce("tok", 400, &format!("m{i}"))).collect();
            assert!(store.use_nonces(&many).await.unwrap().iter().all(|fresh| *fresh));
            assert!(store.use_nonces(&many).await.unwrap().iter().all(|fresh| !fresh));
            // Pruning forgets what is older than the window, and only that.
            assert_eq!(store.prune_nonces(101).await.unwrap(), 3);
            assert!(!store.use_nonce(&nonce("tok", 101, "n1")).await.unwrap(), "kept");
            assert!(store.use_nonce(&nonce("tok", 100, "n1")).await.unwrap(), "forgotten");
        }
    }
}

/// External identity providers: unique by name and by exact issuer, found by issuer.
mod identity {
    use super::*;
    use tessera_core::identity::*;

    fn provider(name: &str, issuer: &str) -> NewIdentityProvider {
        NewIdentityProvider {
            settings: ProviderSettings {
                name: name.into(),
                issuer: issuer.into(),
                audiences: vec!["tessera".into(), "account".into()],
                user_claim: UserClaim::Email,
                groups_claim: Some("groups".into()),
                group_mapping: [("/devs".to_string(), "jira-developers".to_string())].into(),
                provisioning: Provisioning::Create,
                group_sync: GroupSync::Provisioning,
                default_scopes: tessera_core::scopes::parse_scope("READ").unwrap(),
                enabled: true,
                login: Some(ProviderClient {
                    client_id: "tessera-web".into(),
                    sealed_secret: "v1:db:sealed".into(),
                }),
                introspection: Some(Introspection {
                    endpoint: Some("https://sso.example.com/introspect".into()),
                    client: ProviderClient {
                        client_id: "tessera-rs".into(),
                        sealed_secret: "v1:db:other".into(),
                    },
                }),
            },
            endpoints: Endpoints {
                jwks_uri: "https://sso.example.com/jwks".into(),
                token_endpoint: Some("https://sso.example.com/token".into()),
                ..Endpoints::default()
            },
            created: T0,
            created_by: None,
        }
    }

    backend_tests! {
        async fn providers_are_unique_by_name_and_issuer_and_found_by_issuer(db) {
            let store = open(&db).await;
            let made = store.create_provider(provider("Keycloak", "https://sso.example.com/realms/a")).await.unwrap();
            assert_eq!(made.settings, provider("Keycloak", "https://sso.example.com/realms/a").settings);
            assert_eq!(made.endpoints.token_endpoint.as_deref(), Some("https://sso.example.com/token"));
            assert!(matches!(
                store.create_provider(provider("Keycloak", "https://sso.example.com/realms/b")).await,
                Err(StoreError::Conflict(Conflict::ProviderName))
            ));
            assert!(matches!(
                store.create_provider(provider("Other", "https://sso.example.com/realms/a")).await,
                Err(StoreError::Conflict(Conflict::ProviderIssuer))
            ));
            // The issuer is exact: another case, or a trailing slash, is another issuer.
            store.create_provider(provider("Other", "https://sso.example.com/realms/A")).await.unwrap();
            assert!(store.find_provider_by_issuer("https://sso.example.com/realms/a/").await.unwrap().is_none());
            assert_eq!(store.find_provider_by_issuer("https://sso.example.com/realms/a").await.unwrap().unwrap().id, made.id);
            let mut settings = made.settings.clone();
            settings.enabled = false;
            settings.group_mapping.clear();
            settings.login = None;
            settings.introspection.as_mut().unwrap().endpoint = None;
            let endpoints = Endpoints { jwks_uri: "https://sso.example.com/keys".into(), ..Endpoints::default() };
            let updated = store.update_provider(made.id, &settings, &endpoints).await.unwrap().unwrap();
            assert_eq!((updated.settings, updated.endpoints), (settings, endpoints));
            // The first use is noted once.
            assert_eq!(updated.first_used, None);
            assert!(store.mark_provider_used(made.id, T0).await.unwrap());
            assert!(!store.mark_provider_used(made.id, T0.plus(std::time::Duration::from_secs(5))).await.unwrap());
            assert_eq!(store.get_provider(made.id).await.unwrap().unwrap().first_used, Some(T0));
            let names: Vec<String> = store.list_providers().await.unwrap().into_iter().map(|p| p.settings.name).collect();
            assert_eq!(names, ["Keycloak", "Other"]);
            let event = super::event("identity.provider.deleted", "192.0.2.1", T0);
            assert!(store.delete_provider(made.id, &event).await.unwrap());
            assert!(!store.delete_provider(made.id, &event).await.unwrap());
            assert!(store.get_provider(made.id).await.unwrap().is_none());
        }

        async fn a_sign_in_under_way_is_taken_once_and_not_after_it_expired(db) {
            let store = open(&db).await;
            let made = store.create_provider(provider("Keycloak", "https://sso.example.com/realms/a")).await.unwrap();
            let login = |digest: &str, created: Timestamp| SsoLogin {
                state_digest: digest.into(),
                provider: made.id,
                nonce: "n-0S6_WzA2Mj".into(),
                code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
                next: "/secure/tokens".into(),
                created,
                expires: created.plus(std::time::Duration::from_secs(600)),
            };
            assert!(store.create_sso_login(&login("a", T0), 10).await.unwrap());
            assert!(store.create_sso_login(&login("b", T0), 10).await.unwrap());
            // At the cap, nothing more is kept.
            assert!(!store.create_sso_login(&login("x", T0), 2).await.unwrap());
            assert_eq!(store.take_sso_login("x", T0).await.unwrap(), None);
            assert_eq!(store.take_sso_login("a", T0).await.unwrap(), Some(login("a", T0)));
            assert_eq!(store.take_sso_login("a", T0).await.unwrap(), None, "used once");
            let late = T0.plus(std::time::Duration::from_secs(600));
            assert_eq!(store.take_sso_login("b", late).await.unwrap(), None, "expired");
            // An expired one is dropped when the next is kept; a provider's go with it.
            store.create_sso_login(&login("c", T0), 10).await.unwrap();
            // Expired ones do not count toward the cap: they are dropped first.
            assert!(store.create_sso_login(&login("d", late), 1).await.unwrap());
            assert_eq!(store.take_sso_login("c", T0).await.unwrap(), None);
            let event = super::event("identity.provider.deleted", "192.0.2.1", T0);
            assert!(store.delete_provider(made.id, &event).await.unwrap());
            assert_eq!(store.take_sso_login("d", late).await.unwrap(), None);
        }
    }
}

/// Worklogs: each change moves the issue's time spent and remaining estimate with it, in one
/// transaction; deletions are remembered for the incremental exports.
mod worklogs {
    use super::*;
    use tessera_core::ids::WorklogId;
    use tessera_core::model::{EstimateChange, NewWorklog, WorklogChanges};
    use tessera_core::store::WorklogStore;

    const HOUR: i64 = 3600;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(T0.as_millis() + seconds * 1000)
    }

    fn work(issue: &Issue, who: &User, seconds: i64, when: Timestamp) -> NewWorklog {
        NewWorklog {
            issue: issue.id,
            author: who.id,
            comment: format!("{seconds} s of work"),
            started: T0,
            time_spent_seconds: seconds,
            at: when,
        }
    }

    /// The issue's (time spent, remaining estimate).
    async fn tracked(store: &SqlStore, issue: &Issue) -> (i64, Option<i64>) {
        let issue = store.find_issue(issue.id).await.unwrap().unwrap();
        (
            issue.time_tracking.time_spent,
            issue.time_tracking.remaining_estimate,
        )
    }

    backend_tests! {
        async fn worklogs_keep_the_issues_time_in_step(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let bob = user(&store, "bob", &[]).await;
            let p = project(&store, "WL", &alice).await;
            let issue = store.create_issue(new_issue(&p, &alice, "work")).await.unwrap();
            assert_eq!(tracked(&store, &issue).await, (0, None));
            // Without an estimate, auto keeps none.
            let first = store.add_worklog(&work(&issue, &alice, 2 * HOUR, at(1)), EstimateChange::Auto).await.unwrap();
            assert_eq!(first.id.0, 10000);
            assert_eq!((first.time_spent_seconds, first.comment.as_str()), (2 * HOUR, "7200 s of work"));
            assert_eq!(first.author.as_ref().map(|u| u.id), Some(alice.id));
            assert_eq!(tracked(&store, &issue).await, (2 * HOUR, None));
            assert_eq!(store.find_issue(issue.id).await.unwrap().unwrap().updated, at(1));
            // Set, then reduced by what is logged, never below zero.
            store.add_worklog(&work(&issue, &bob, HOUR, at(2)), EstimateChange::Set(10 * HOUR)).await.unwrap();
            assert_eq!(tracked(&store, &issue).await, (3 * HOUR, Some(10 * HOUR)));
            let third = store.add_worklog(&work(&issue, &bob, 4 * HOUR, at(3)), EstimateChange::Auto).await.unwrap();
            assert_eq!(tracked(&store, &issue).await, (7 * HOUR, Some(6 * HOUR)));
            store.add_worklog(&work(&issue, &bob, HOUR, at(4)), EstimateChange::Reduce(8 * HOUR)).await.unwrap();
            assert_eq!(tracked(&store, &issue).await, (8 * HOUR, Some(0)));
            store.add_worklog(&work(&issue, &bob, HOUR, at(5)), EstimateChange::Leave).await.unwrap();
            assert_eq!(tracked(&store, &issue).await, (9 * HOUR, Some(0)));
            // A change moves the sums by its difference.
            let changes = WorklogChanges { time_spent_seconds: Some(HOUR), comment: Some("less".into()), started: None };
            let changed = store.update_worklog(third.id, &changes, alice.id, EstimateChange::Auto, at(6)).await.unwrap().unwrap();
            assert_eq!((changed.time_spent_seconds, changed.comment.as_str(), changed.updated), (HOUR, "less", at(6)));
            assert_eq!(changed.update_author.as_ref().map(|u| u.id), Some(alice.id));
            assert_eq!(changed.author.as_ref().map(|u| u.id), Some(bob.id));
            assert_eq!(tracked(&store, &issue).await, (6 * HOUR, Some(3 * HOUR)));
            // A deletion takes its time back, and is remembered.
            assert!(store.delete_worklog(first.id, EstimateChange::Auto, at(7)).await.unwrap());
            assert!(!store.delete_worklog(first.id, EstimateChange::Auto, at(8)).await.unwrap());
            assert_eq!(tracked(&store, &issue).await, (4 * HOUR, Some(5 * HOUR)));
            assert!(store.find_worklog(first.id).await.unwrap().is_none());
            let missing = WorklogId(first.id.0 + 1000);
            assert!(store.update_worklog(missing, &changes, alice.id, EstimateChange::Auto, at(9)).await.unwrap().is_none());
            // Listing, and the exports.
            let page = store.list_worklogs(issue.id, PageRequest { start_at: 1, limit: 2 }).await.unwrap();
            assert_eq!((page.total, page.items.len()), (4, 2));
            let updated = store.worklog_changes(at(4), false, 10).await.unwrap();
            let ids: Vec<i64> = updated.iter().map(|c| c.worklog.0).collect();
            assert_eq!(ids, [10003, 10004, third.id.0], "by time of change");
            assert!(updated.iter().all(|c| c.project == p.id));
            assert_eq!(store.worklog_changes(at(4), false, 1).await.unwrap().len(), 1);
            let deleted = store.worklog_changes(T0, true, 10).await.unwrap();
            assert_eq!((deleted.len(), deleted[0].worklog, deleted[0].at), (1, first.id, at(7)));
            let found = store.find_worklogs(&[third.id, first.id, WorklogId(10001)]).await.unwrap();
            assert_eq!(found.iter().map(|(w, p)| (w.id.0, p.0)).collect::<Vec<_>>(), [(10001, p.id.0), (third.id.0, p.id.0)]);
            assert!(store.find_worklogs(&[]).await.unwrap().is_empty());
            // An issue that is gone takes none, and its worklogs go with it.
            let gone = store.create_issue(new_issue(&p, &alice, "gone")).await.unwrap();
            store.add_worklog(&work(&gone, &alice, HOUR, at(10)), EstimateChange::Auto).await.unwrap();
            assert!(store.delete_issue(gone.id).await.unwrap());
            assert!(matches!(
                store.add_worklog(&work(&gone, &alice, HOUR, at(11)), EstimateChange::Auto).await,
                Err(StoreError::MissingReference)
            ));
        }
    }
}

/// Versions and components: unique names per project regardless of case, the versions'
/// order, and deletion moving issues elsewhere.
mod planning {
    use super::*;
    use tessera_core::ids::{ComponentId, VersionId};
    use tessera_core::store::PlanningStore;

    fn named(name: &str) -> VersionFields {
        VersionFields {
            name: Some(name.into()),
            ..VersionFields::default()
        }
    }

    backend_tests! {
        async fn versions_keep_their_order_and_names_are_unique_per_project(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let p = project(&store, "VR", &alice).await;
            let q = project(&store, "VQ", &alice).await;
            let one = store.create_version(p.id, &named("1.0")).await.unwrap();
            let two = store.create_version(p.id, &VersionFields { release_date: Some(Some("2026-03-01".into())), released: Some(true), ..named("2.0") }).await.unwrap();
            let three = store.create_version(p.id, &named("3.0")).await.unwrap();
            assert_eq!((one.id.0, one.sequence, two.sequence), (10000, 1, 2));
            assert_eq!((two.released, two.release_date.as_deref()), (true, Some("2026-03-01")));
            assert!(matches!(store.create_version(p.id, &named("1.0")).await, Err(StoreError::Conflict(Conflict::VersionName))));
            assert!(store.create_version(p.id, &named("2.O")).await.is_ok());
            store.create_version(q.id, &named("1.0")).await.unwrap();
            let names = |vs: Vec<Version>| vs.into_iter().map(|v| v.name).collect::<Vec<_>>();
            assert_eq!(names(store.list_versions(p.id).await.unwrap()), ["1.0", "2.0", "3.0", "2.O"]);
            store.move_version(three.id, 0).await.unwrap().unwrap();
            assert_eq!(names(store.list_versions(p.id).await.unwrap()), ["3.0", "1.0", "2.0", "2.O"]);
            store.move_version(three.id, 99).await.unwrap();
            assert_eq!(names(store.list_versions(p.id).await.unwrap()), ["1.0", "2.0", "2.O", "3.0"]);
            let changed = store.update_version(one.id, &VersionFields { archived: Some(true), description: Some(Some("first".into())), ..VersionFields::default() }).await.unwrap().unwrap();
            assert_eq!((changed.name.as_str(), changed.archived, changed.description.as_deref()), ("1.0", true, Some("first")));
            assert!(matches!(store.update_version(one.id, &named("3.0")).await, Err(StoreError::Conflict(Conflict::VersionName))));
            assert!(store.update_version(VersionId(1), &named("x")).await.unwrap().is_none());
            assert_eq!(store.version_issue_counts(one.id).await.unwrap(), (0, 0));
            assert!(store.delete_version(one.id, Some(two.id), None).await.unwrap());
            assert!(!store.delete_version(one.id, None, None).await.unwrap());
        }

        async fn components_are_unique_per_project_and_keep_their_lead(db) {
            let store = open(&db).await;
            let alice = user(&store, "alice", &[]).await;
            let p = project(&store, "CP", &alice).await;
            let fields = |name: &str| ComponentFields { name: Some(name.into()), lead: Some(Some(alice.id)), ..ComponentFields::default() };
            let api = store.create_component(p.id, &fields("API")).await.unwrap();
            assert_eq!((api.lead.as_ref().map(|u| u.id), api.assignee_type.as_str()), (Some(alice.id), "PROJECT_DEFAULT"));
            assert!(matches!(store.create_component(p.id, &fields("api")).await, Err(StoreError::Conflict(Conflict::ComponentName))));
            let ui = store.create_component(p.id, &fields("UI")).await.unwrap();
            let changed = store.update_component(ui.id, &ComponentFields { lead: Some(None), assignee_type: Some("UNASSIGNED".into()), ..ComponentFields::default() }).await.unwrap().unwrap();
            assert_eq!((changed.lead, changed.assignee_type.as_str(), changed.name.as_str()), (None, "UNASSIGNED", "UI"));
            let names: Vec<String> = store.list_components(p.id).await.unwrap().into_iter().map(|c| c.name).collect();
            assert_eq!(names, ["API", "UI"]);
            assert_eq!(store.component_issue_count(api.id).await.unwrap(), 0);
            assert!(store.delete_component(api.id, Some(ui.id)).await.unwrap());
            assert!(store.find_component(api.id).await.unwrap().is_none());
            assert!(store.update_component(ComponentId(1), &fields("x")).await.unwrap().is_none());
            // A project's deletion takes its versions and components.
            store.create_version(p.id, &named("9")).await.unwrap();
            assert!(store.delete_project(p.id).await.unwrap());
            assert!(store.find_component(ui.id).await.unwrap().is_none());
        }
    }
}
