//! Rules for names and texts, shared by the REST API and the command line. Each returns the
//! normalised value or a message in Jira's words.

/// Longest password accepted. Argon2 takes any length, but a megabyte "password" is a cheap
/// way to make a server hash a megabyte.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted for new passwords.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Jira's limit for long texts (description, comment body).
pub const MAX_TEXT_CHARS: usize = 32_767;
pub const MAX_NAME_CHARS: usize = 255;

/// Usernames are keyed lower-case, as Jira keys them, and shown in the case they were created
/// with: ASCII letters, digits and `._-@+` only, so that a name can never carry the `:` that
/// separates it from the password in Basic auth, and no two names can look alike (Unicode
/// confusables and normalisation forms). Names of the form of user keys (`jirauser10001`) are
/// reserved.
///
/// A valid login name, lower-cased: the key users are found by.
pub fn username(name: &str) -> Result<String, String> {
    username_as_given(name).map(|name| name.to_ascii_lowercase())
}

/// A valid login name in the case it was given (trimmed), as it is shown.
pub fn username_as_given(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("You must specify a username.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("The username must not exceed 255 characters.".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
    {
        return Err(
            "The username may contain only ASCII letters, digits and the characters . _ - @ +."
                .into(),
        );
    }
    let is_key_like = name
        .to_ascii_lowercase()
        .strip_prefix("jirauser")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
    if is_key_like {
        return Err("Names of the form JIRAUSER<number> are reserved for user keys.".into());
    }
    Ok(name.to_string())
}

pub fn group_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("You must specify a group name.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err("The group name is invalid.".into());
    }
    Ok(name.to_string())
}

pub fn display_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("You must specify a full name.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err("The full name is invalid.".into());
    }
    Ok(name.to_string())
}

pub fn email(address: &str) -> Result<String, String> {
    let address = address.trim();
    let valid = address.len() <= MAX_NAME_CHARS
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(address.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(address.to_string())
    } else {
        Err("You must specify a valid email address.".into())
    }
}

/// A new password. Existing passwords are never checked against these rules, only new ones.
pub fn new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "The password must be at least {MIN_PASSWORD_CHARS} characters long."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "The password must not exceed {MAX_PASSWORD_BYTES} bytes."
        ));
    }
    // Basic auth reads a password shaped like a token as a token.
    if crate::tokens::TokenKind::of_prefixed(password).is_some() {
        return Err("The password must not start like an API token (tspat_, tskey_).".into());
    }
    Ok(())
}

/// Project keys: an upper-case letter followed by 1 to 9 upper-case letters, digits or `_`.
pub fn project_key(key: &str) -> Result<String, String> {
    let bytes = key.as_bytes();
    let valid = (2..=10).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    if valid {
        Ok(key.to_string())
    } else {
        Err(
            "Project keys must start with an uppercase letter, followed by one or more uppercase \
             alphanumeric characters (2 to 10 in all)."
                .into(),
        )
    }
}

pub fn project_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err("You must specify a valid project name of at most 80 characters.".into());
    }
    Ok(name.to_string())
}

/// Control characters other than tab and line breaks have no place in text a person reads
/// (and NUL cannot be stored by PostgreSQL).
fn has_stray_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

pub fn summary(summary: &str) -> Result<String, String> {
    let trimmed = summary.trim();
    if trimmed.is_empty() {
        return Err("You must specify a summary of the issue.".into());
    }
    if trimmed.contains(['\n', '\r']) {
        return Err("The summary is invalid because it contains newline characters.".into());
    }
    if has_stray_control(trimmed) {
        return Err("The summary must not contain control characters.".into());
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err("Summary must be less than 255 characters.".into());
    }
    Ok(trimmed.to_string())
}

pub fn long_text(text: &str) -> Result<String, String> {
    if has_stray_control(text) {
        return Err(
            "The text must not contain control characters other than tabs and line breaks.".into(),
        );
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "The entered text is too long. It exceeds the allowed limit of {MAX_TEXT_CHARS} characters."
        ));
    }
    Ok(text.to_string())
}

pub fn label(label: &str) -> Result<String, String> {
    if label.is_empty() {
        return Err("A label must not be empty.".into());
    }
    if label.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "The label '{label}' contains spaces which is invalid."
        ));
    }
    if label.chars().count() > MAX_NAME_CHARS {
        return Err("The label must not exceed 255 characters.".into());
    }
    Ok(label.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username(" Alice.Smith@corp ").unwrap(), "alice.smith@corp");
        assert_eq!(
            username_as_given(" Alice.Smith@corp ").unwrap(),
            "Alice.Smith@corp"
        );
        assert!(
            username_as_given("JiraUser10001").is_err(),
            "reserved in any case"
        );
        assert!(username("").is_err());
        assert!(username("a:b").is_err(), "a colon would break Basic auth");
        assert!(username("a b").is_err());
        assert!(username("<script>").is_err());
        assert!(username("émile").is_err(), "ASCII only: no look-alikes");
        assert!(username("JIRAUSER10001").is_err(), "reserved for keys");
        assert_eq!(username("jirauser").unwrap(), "jirauser");
        assert!(username(&"a".repeat(256)).is_err());
    }

    #[test]
    fn project_keys() {
        assert!(project_key("AB").is_ok());
        assert!(project_key("ABC_12").is_ok());
        assert!(project_key("A").is_err());
        assert!(project_key("abc").is_err());
        assert!(project_key("1AB").is_err());
        assert!(project_key("ABCDEFGHIJK").is_err());
        assert!(project_key("AB-1").is_err());
    }

    #[test]
    fn texts() {
        assert!(summary("  ").is_err());
        assert!(summary("a\nb").is_err());
        assert_eq!(summary(" ok ").unwrap(), "ok");
        assert!(long_text(&"x".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(long_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(label("a b").is_err());
        assert!(label("a\u{1}b").is_err());
        assert!(summary("a\0b").is_err());
        assert!(long_text("line\n\tindented\r\n").is_ok());
        assert!(long_text("bell\u{7}").is_err());
        assert!(email("a@b").is_ok());
        assert!(email("a@b@c").is_err());
        assert!(email("@b").is_err());
        assert!(new_password("short").is_err());
        assert!(new_password("long enough").is_ok());
        assert!(new_password("tspat_looks-like-a-token").is_err());
        assert!(new_password("my tspat_ password").is_ok());
        assert!(new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
