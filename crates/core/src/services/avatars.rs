//! User avatars: Jira's system avatars (ids 10100 to 10123, drawn by tessera), the images
//! users upload (PNG, JPEG or GIF, as their first bytes say, whatever the request claims; held
//! unconfirmed until confirmed, as Jira's upload-then-crop does, without cropping), and the one
//! each user chose. Whoever may look users up may list a user's avatars; a user changes their
//! own (with the write scope), an administrator anyone's.

use std::ops::RangeInclusive;

use crate::authz::ReadUsers;
use crate::clock::Timestamp;
use crate::error::{Denied, Error, Needed};
use crate::model::User;
use crate::permissions::GlobalPermission;
use crate::principal::Principal;
use crate::scopes::Scope;
use crate::services::users::UserSelector;
use crate::store::Store;

/// The system avatars' ids.
pub const SYSTEM: RangeInclusive<i64> = 10100..=10123;
/// The avatar of a user who chose none.
pub const DEFAULT: i64 = 10122;

/// A user's avatars: the system ones, and the one they show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Avatars {
    pub owner: User,
    pub system: Vec<i64>,
    /// The images the user uploaded and confirmed.
    pub custom: Vec<i64>,
    pub selected: i64,
}

/// The largest image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;

/// The image type `content` is, by its first bytes: PNG, JPEG or GIF; `None` for anything else.
pub fn image_type(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if content.starts_with(b"GIF87a") || content.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// The user's avatars.
pub async fn list(
    store: &dyn Store,
    reader: &ReadUsers,
    who: UserSelector<'_>,
) -> Result<Avatars, Error> {
    let owner = super::users::find_user(store, reader, who).await?;
    let custom = store.avatar_images(owner.id).await?;
    let selected = match store.chosen_avatar(owner.id).await? {
        Some(id) if SYSTEM.contains(&id) || custom.contains(&id) => id,
        _ => DEFAULT,
    };
    Ok(Avatars {
        owner,
        system: SYSTEM.collect(),
        custom,
        selected,
    })
}

/// The avatar the user shows.
pub async fn shown(store: &dyn Store, user: &User) -> Result<i64, Error> {
    Ok(match store.chosen_avatar(user.id).await? {
        Some(id) if SYSTEM.contains(&id) => id,
        Some(id) if store.avatar_images(user.id).await?.contains(&id) => id,
        _ => DEFAULT,
    })
}

/// Whether the caller may change `owner`'s avatars: their own with the write scope, anyone's
/// as an administrator with the administration scope.
fn may_change(principal: &Principal, owner: &User) -> Result<(), Error> {
    if owner.id != principal.user.id {
        if !principal.has_global(GlobalPermission::Administer) {
            return Err(Error::Denied(Denied::Permission(Needed::Global(
                GlobalPermission::Administer,
            ))));
        }
        if !principal.scopes.contains(Scope::ManageJiraConfiguration) {
            return Err(Error::Denied(Denied::Scope(Scope::ManageJiraConfiguration)));
        }
    } else if !principal.scopes.contains(Scope::WriteJiraWork) {
        return Err(Error::Denied(Denied::Scope(Scope::WriteJiraWork)));
    }
    Ok(())
}

/// The user `who` names, if the caller may change their avatars.
async fn changeable(
    store: &dyn Store,
    principal: &Principal,
    reader: &ReadUsers,
    who: UserSelector<'_>,
) -> Result<User, Error> {
    let owner = super::users::find_user(store, reader, who).await?;
    may_change(principal, &owner)?;
    Ok(owner)
}

/// Holds an uploaded image for the user until it is confirmed; the user.
pub async fn upload(
    store: &dyn Store,
    principal: &Principal,
    reader: &ReadUsers,
    who: UserSelector<'_>,
    content: &[u8],
    now: Timestamp,
) -> Result<User, Error> {
    let owner = changeable(store, principal, reader, who).await?;
    let mime = image_type(content)
        .ok_or_else(|| Error::invalid_message("An avatar must be a PNG, JPEG or GIF image."))?;
    store.add_avatar_image(owner.id, mime, content, now).await?;
    Ok(owner)
}

/// Makes the user's uploaded image one of their avatars; its id.
pub async fn confirm(
    store: &dyn Store,
    principal: &Principal,
    reader: &ReadUsers,
    who: UserSelector<'_>,
) -> Result<(User, i64), Error> {
    let owner = changeable(store, principal, reader, who).await?;
    let id = store.confirm_avatar_image(owner.id).await?.ok_or_else(|| {
        Error::invalid_message("There is no uploaded image to confirm: upload one first.")
    })?;
    Ok((owner, id))
}

/// Deletes one of the user's uploaded avatars (a system avatar cannot be).
pub async fn delete(
    store: &dyn Store,
    principal: &Principal,
    reader: &ReadUsers,
    who: UserSelector<'_>,
    avatar: &str,
) -> Result<(), Error> {
    let owner = changeable(store, principal, reader, who).await?;
    let missing = || {
        Error::invalid_message(format!(
            "The user has no avatar with id '{}' to delete.",
            avatar.trim()
        ))
    };
    let id: i64 = avatar.trim().parse().map_err(|_| missing())?;
    if store.delete_avatar_image(owner.id, id).await? {
        Ok(())
    } else {
        Err(missing())
    }
}

/// An uploaded avatar's type and bytes.
pub async fn image(store: &dyn Store, id: i64) -> Result<Option<(String, Vec<u8>)>, Error> {
    Ok(store
        .avatar_image(id)
        .await?
        .map(|(_, mime, content)| (mime, content)))
}

/// Makes `avatar` (an id, as text) the one the user shows: their own, or anyone's for an
/// administrator.
pub async fn choose(
    store: &dyn Store,
    principal: &Principal,
    reader: &ReadUsers,
    who: UserSelector<'_>,
    avatar: &str,
) -> Result<(), Error> {
    let owner = changeable(store, principal, reader, who).await?;
    let custom = store.avatar_images(owner.id).await?;
    let id = avatar
        .trim()
        .parse()
        .ok()
        .filter(|id| SYSTEM.contains(id) || custom.contains(id))
        .ok_or_else(|| {
            Error::invalid_message(format!("There is no avatar with id '{}'.", avatar.trim()))
        })?;
    store.choose_avatar(owner.id, id).await?;
    Ok(())
}

/// A system avatar, drawn: a head and shoulders on one of 24 colours, as SVG. `None` for an
/// id that is not a system avatar.
pub fn system_image(id: i64) -> Option<String> {
    const COLOURS: [&str; 24] = [
        "#0052CC", "#00875A", "#FF5630", "#6554C0", "#FFAB00", "#00B8D9", "#172B4D", "#36B37E",
        "#DE350B", "#5243AA", "#FF8B00", "#008DA6", "#403294", "#006644", "#BF2600", "#0065FF",
        "#FF991F", "#00A3BF", "#8777D9", "#57D9A3", "#FF7452", "#4C9AFF", "#998DD9", "#79E2F2",
    ];
    if !SYSTEM.contains(&id) {
        return None;
    }
    let index = usize::try_from(id - SYSTEM.start()).ok()?;
    let colour = COLOURS.get(index)?;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 48 48\" width=\"48\" \
         height=\"48\"><rect width=\"48\" height=\"48\" rx=\"24\" fill=\"{colour}\"/>\
         <circle cx=\"24\" cy=\"19\" r=\"8\" fill=\"#FFFFFF\"/>\
         <path d=\"M10 40c2-8 8-12 14-12s12 4 14 12\" fill=\"#FFFFFF\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_avatar_is_drawn_and_nothing_else() {
        assert!(SYSTEM.contains(&DEFAULT));
        for id in SYSTEM {
            let image = system_image(id).unwrap();
            assert!(
                image.starts_with("<svg") && image.ends_with("</svg>"),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<String> = SYSTEM.filter_map(system_image).collect();
        assert_eq!(distinct.len(), SYSTEM.count());
        for id in [0, 10099, 10124, -1, i64::MAX] {
            assert_eq!(system_image(id), None, "{id}");
        }
    }

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n rest"), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        for other in [&b""[..], b"<svg xmlns=", b"<html>", b"\x89PN", b"GIF90a"] {
            assert_eq!(image_type(other), None, "{other:?}");
        }
    }
}
