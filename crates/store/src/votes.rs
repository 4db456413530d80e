//! Votes for issues: one row per user and issue (see [`crate::issue_users`]).

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{IssueId, UserId};
use tessera_core::model::{User, Votes};
use tessera_core::store::{StoreResult, VoteStore};

use crate::SqlStore;
use crate::issue_users::UserSet;

#[async_trait]
impl VoteStore for SqlStore {
    async fn list_voters(&self, issue: IssueId) -> StoreResult<Vec<User>> {
        self.set_members(UserSet::Voters, issue).await
    }

    async fn votes(&self, issue: IssueId, viewer: UserId) -> StoreResult<Votes> {
        let (count, has_voted) = self.set_count(UserSet::Voters, issue, viewer).await?;
        Ok(Votes { count, has_voted })
    }

    async fn add_vote(&self, issue: IssueId, user: UserId, at: Timestamp) -> StoreResult<bool> {
        self.set_add(UserSet::Voters, issue, user, at).await
    }

    async fn remove_vote(&self, issue: IssueId, user: UserId) -> StoreResult<bool> {
        self.set_remove(UserSet::Voters, issue, user).await
    }
}
