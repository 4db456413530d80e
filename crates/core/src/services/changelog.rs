//! Reading an issue's history. Anyone who can browse the issue reads all of it, including the
//! credential kind and id of each change (never a secret), as Jira shows the changelog to
//! everyone who can see the issue.

use crate::authz::{Browse, OnIssue};
use crate::changelog::ChangeGroup;
use crate::error::Error;
use crate::model::{Page, PageRequest};
use crate::store::Store;

pub async fn list(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    page: PageRequest,
) -> Result<Page<ChangeGroup>, Error> {
    Ok(store.list_changelog(cap.issue().id, page).await?)
}
