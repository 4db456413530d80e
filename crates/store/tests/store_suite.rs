//! The store test suite: every test runs on SQLite and, when a server is configured (always
//! under CI), on PostgreSQL, each in a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::catalog::{IssueType, Priority, Resolution, Status};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::model::*;
use tessera_core::permissions::{GlobalPermission, ProjectRole};
use tessera_core::store::*;
use tessera_store::{PoolOptions, SqlStore};
use tessera_testkit::{TestDatabase, backend_tests};

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
        created: T0,
    }
}

const PAGE: PageRequest = PageRequest {
    start_at: 0,
    limit: 50,
};

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
            .create_user(NewUser { name: "alice".into(), display_name: "Other".into(), email: None,
                password_hash: None, groups: vec![], created: T0, service_owner: None })
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(Conflict::UserName))), "{again:?}");
        let credentials = store.find_credentials("alice").await.unwrap().unwrap();
        assert_eq!(credentials.password_hash.as_deref(), Some("$argon2id$fake$alice"));
        let sso = store
            .create_user(NewUser { name: "sso".into(), display_name: "SSO".into(), email: None,
                password_hash: None, groups: vec![], created: T0, service_owner: None })
            .await
            .unwrap();
        assert!(!sso.has_password);
        // A membership in a group that does not exist is refused, and nothing is half-written.
        let broken = store
            .create_user(NewUser { name: "ghost".into(), display_name: "G".into(), email: None,
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

    async fn password_changes_end_sessions_but_the_kept_one(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        for digest in [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()] {
            store.create_session(&Session { id_digest: digest, user_id: alice.id, created: T0, last_seen: T0 }).await.unwrap();
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
        store.create_session(&Session { id_digest: b"four".to_vec(), user_id: alice.id, created: T0, last_seen: T0 }).await.unwrap();
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
        let updated = store.update_issue(first.id, &changes, bob.id, later).await.unwrap().unwrap();
        assert_eq!(updated.summary, "renamed");
        assert_eq!(updated.description, None);
        assert_eq!((updated.issue_type, updated.priority), (IssueType::Bug, Priority::High));
        assert_eq!(updated.assignee.as_ref().map(|u| u.id), Some(bob.id));
        assert_eq!(updated.labels, ["a", "c"]);
        assert_eq!(updated.updated, later);
        assert_eq!(updated.created, T0);
        let comments = store.list_comments(first.id, PAGE, false).await.unwrap();
        assert_eq!(comments.total, 1);
        assert_eq!(comments.items[0].author.as_ref().map(|u| u.id), Some(bob.id));

        let set = IssueChanges { set_labels: Some(vec!["z".into()]), ..Default::default() };
        assert_eq!(store.update_issue(first.id, &set, bob.id, later).await.unwrap().unwrap().labels, ["z"]);

        let to_done = IssueChanges {
            status: Some(StatusChange { from: Status::ToDo, to: Status::Done, resolution: Some(Resolution::Done) }),
            ..Default::default()
        };
        let done = store.update_issue(first.id, &to_done, bob.id, later).await.unwrap().unwrap();
        assert_eq!((done.status, done.resolution, done.resolution_date), (Status::Done, Some(Resolution::Done), Some(later)));
        // The same step again starts from a status that no longer holds.
        let stale = store.update_issue(first.id, &to_done, bob.id, later).await;
        assert!(matches!(stale, Err(StoreError::Conflict(Conflict::StaleStatus))), "{stale:?}");
        let back = IssueChanges {
            status: Some(StatusChange { from: Status::Done, to: Status::InProgress, resolution: None }),
            ..Default::default()
        };
        let reopened = store.update_issue(first.id, &back, bob.id, later).await.unwrap().unwrap();
        assert_eq!((reopened.status, reopened.resolution, reopened.resolution_date), (Status::InProgress, None, None));

        assert!(store.delete_issue(first.id).await.unwrap());
        assert!(!store.delete_issue(first.id).await.unwrap());
        assert_eq!(store.find_issue(first.id).await.unwrap(), None);
        assert_eq!(store.list_comments(first.id, PAGE, false).await.unwrap().total, 0);
        assert_eq!(store.update_issue(first.id, &set, bob.id, later).await.unwrap(), None);
        // Numbers are never reused after a delete.
        assert_eq!(store.create_issue(new_issue(&p, &alice, "third")).await.unwrap().key(), "ABC-3");
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
            ids.push(store.add_comment(issue.id, alice.id, &format!("c{n}"), at).await.unwrap().id);
        }
        let page = store.list_comments(issue.id, PageRequest { start_at: 1, limit: 2 }, false).await.unwrap();
        assert_eq!(page.total, 5);
        assert_eq!(page.items.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
        for (start_at, limit, shown) in [(4, 10, 1), (10, 10, 0), (0, 50, 5), (0, 0, 0)] {
            let page = store.list_comments(issue.id, PageRequest { start_at, limit }, false).await.unwrap();
            assert_eq!((page.total, page.items.len()), (5, shown), "start {start_at}, limit {limit}");
        }
        let newest = store.list_comments(issue.id, PageRequest { start_at: 0, limit: 1 }, true).await.unwrap();
        assert_eq!(newest.items[0].body, "c4");
        let later = Timestamp::from_millis(T0.as_millis() + 60_000);
        let edited = store.update_comment(ids[0], "edited", bob.id, later).await.unwrap().unwrap();
        assert_eq!(edited.body, "edited");
        assert_eq!(edited.author.as_ref().map(|u| u.id), Some(alice.id));
        assert_eq!(edited.update_author.as_ref().map(|u| u.id), Some(bob.id));
        assert_eq!((edited.created, edited.updated), (T0, later));
        assert!(store.delete_comment(ids[0]).await.unwrap());
        assert!(!store.delete_comment(ids[0]).await.unwrap());
        assert_eq!(store.find_comment(ids[0]).await.unwrap(), None);
        assert_eq!(store.update_comment(ids[0], "x", bob.id, later).await.unwrap(), None);
        assert_eq!(store.find_issue(issue.id).await.unwrap().unwrap().updated, Timestamp::from_millis(T0.as_millis() + 4), "adding a comment updates the issue");
    }

    async fn sessions_touch_and_expire(db) {
        let store = open(&db).await;
        let alice = user(&store, "alice", &[]).await;
        let bob = user(&store, "bob", &[]).await;
        let at = |s: i64| Timestamp::from_millis(T0.as_millis() + s * 1000);
        store.create_session(&Session { id_digest: b"a".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0) }).await.unwrap();
        store.create_session(&Session { id_digest: b"b".to_vec(), user_id: alice.id, created: at(100), last_seen: at(100) }).await.unwrap();
        store.create_session(&Session { id_digest: b"c".to_vec(), user_id: bob.id, created: at(100), last_seen: at(100) }).await.unwrap();
        assert!(store.create_session(&Session { id_digest: b"c".to_vec(), user_id: bob.id, created: at(0), last_seen: at(0) }).await.is_err());
        store.touch_session(b"a", at(50)).await.unwrap();
        store.touch_session(b"a", at(40)).await.unwrap();
        let (session, owner) = store.find_session(b"a").await.unwrap().unwrap();
        assert_eq!(session.last_seen, at(50), "last seen never goes back");
        assert_eq!(owner, alice);
        assert_eq!(store.delete_expired_sessions(at(60), at(-1)).await.unwrap(), 1, "a: idle since 50");
        assert_eq!(store.delete_expired_sessions(at(0), at(101)).await.unwrap(), 2, "b and c: too old");
        store.create_session(&Session { id_digest: b"d".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0) }).await.unwrap();
        store.create_session(&Session { id_digest: b"e".to_vec(), user_id: alice.id, created: at(0), last_seen: at(0) }).await.unwrap();
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
