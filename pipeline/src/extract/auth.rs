//! Authentication and roles: `users log in`, `sign up`, `JWT`, `roles: admin, editor, viewer`,
//! `admins and members`.

use codebegen_schema::names::{singular_word, snake_case};

use super::enums::read_values;
use super::lexicon::{is_determiner, is_have, is_name_word, is_preposition, role_rank};
use super::sentences::Token;

/// What the prompt says about logging in.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AuthInfo {
    /// Whether users log in.
    pub enabled: bool,
    /// Roles, most privileged first.
    pub roles: Vec<String>,
    /// The words that turned auth on, for the diagnostic.
    pub reason: String,
}

/// Role words that count as roles without a `roles:` list, once an admin is mentioned.
#[rustfmt::skip]
const IMPLICIT_ROLES: &[&str] = &[
    "admin", "administrator", "superuser", "superadmin", "moderator", "manager", "editor", "viewer",
    "member", "guest", "staff",
];

#[rustfmt::skip]
const ADMIN_WORDS: &[&str] = &[
    "admin", "administrator", "superuser", "superadmin", "moderator",
];

fn word(tokens: &[Token], k: usize) -> &str {
    tokens.get(k).map(|t| t.lower.as_str()).unwrap_or("")
}

/// The length of an authentication verb phrase at `i` (`log in`, `signs up`, `authenticate`),
/// if there is one. `register for a talk` is not one.
pub(crate) fn auth_verb_len(tokens: &[Token], i: usize) -> Option<usize> {
    let next = word(tokens, i + 1);
    match word(tokens, i) {
        "login" | "logout" | "signup" | "signin" | "log-in" | "sign-up" | "sign-in" | "log-out"
        | "logins" | "relogin" => Some(1),
        "log" | "logs" | "logged" | "logging" if matches!(next, "in" | "out" | "on") => Some(2),
        "sign" | "signs" | "signed" | "signing" if matches!(next, "up" | "in" | "out" | "on") => {
            Some(2)
        }
        "authenticate" | "authenticates" | "authenticated" | "authentication" | "auth" | "jwt"
        | "oauth" | "oauth2" | "sso" => Some(1),
        "register" | "registers" | "registered" | "registering" | "registration" => {
            let for_something = matches!(next, "for" | "to" | "at" | "in" | "on" | "with")
                && !matches!(word(tokens, i + 2), "an" | "account" | "accounts")
                && !(next == "with"
                    && matches!(
                        word(tokens, i + 2),
                        "email" | "e-mail" | "a" | "their" | "an"
                    ));
            (!for_something).then_some(1)
        }
        _ => None,
    }
}

/// Reads auth and roles from the whole prompt.
pub(crate) fn detect(tokens: &[Token]) -> AuthInfo {
    let mut info = AuthInfo::default();
    for i in 0..tokens.len() {
        let w = word(tokens, i);
        let hit = auth_verb_len(tokens, i).is_some() || matches!(w, "password" | "passwords");
        if hit && !info.enabled {
            info.enabled = true;
            info.reason = match auth_verb_len(tokens, i) {
                Some(2) => format!("{w} {}", word(tokens, i + 1)),
                _ => w.to_string(),
            };
        }
    }
    let mut roles = explicit_roles(tokens);
    if roles.is_empty() {
        roles = implicit_roles(tokens);
    }
    if !roles.is_empty() {
        if !info.enabled {
            info.reason = "roles".into();
        }
        info.enabled = true;
    }
    info.roles = order_roles(roles);
    info
}

/// `roles: a, b`, `roles are a and b`, `roles (a, b)`, `role is a or b`, `a and b roles`.
fn explicit_roles(tokens: &[Token]) -> Vec<String> {
    for (i, t) in tokens.iter().enumerate() {
        if !matches!(t.lower.as_str(), "role" | "roles") {
            continue;
        }
        let mut k = i + 1;
        while matches!(
            word(tokens, k),
            ":" | "are"
                | "is"
                | "include"
                | "includes"
                | "including"
                | "such"
                | "as"
                | "like"
                | "of"
                | "("
                | "either"
                | "one"
                | "can"
                | "be"
        ) {
            k += 1;
        }
        if k > i + 1 {
            let end = sentence_end(tokens, k);
            let roles = clean_roles(read_values(&tokens[k..end]));
            if roles.len() >= 2 {
                return roles;
            }
        }
        // `admin and member roles`
        let mut start = i;
        while start > 0 && i - start < 7 {
            let t = &tokens[start - 1];
            let w = t.lower.as_str();
            let role_like = t.is_word()
                && is_name_word(w)
                && !is_determiner(w)
                && !is_preposition(w)
                && !is_have(w);
            if role_like || matches!(w, "and" | "or" | ",") {
                start -= 1;
            } else {
                break;
            }
        }
        let roles = clean_roles(read_values(&tokens[start..i]));
        if roles.len() >= 2 {
            return roles;
        }
    }
    Vec::new()
}

fn sentence_end(tokens: &[Token], from: usize) -> usize {
    tokens
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, t)| t.is_punct(".") || t.is_punct(";") || t.is_punct("\n"))
        .map(|(i, _)| i)
        .unwrap_or(tokens.len())
}

/// Admins mentioned anywhere: the admin words plus the other role words present.
fn implicit_roles(tokens: &[Token]) -> Vec<String> {
    let present: Vec<String> = tokens
        .iter()
        .filter(|t| t.is_word())
        .map(|t| singular_word(&t.lower))
        .filter(|w| IMPLICIT_ROLES.contains(&w.as_str()))
        .collect();
    if !present.iter().any(|w| ADMIN_WORDS.contains(&w.as_str())) {
        return Vec::new();
    }
    let mut roles = clean_roles(present);
    if roles.len() == 1 {
        roles.push("user".into());
    }
    roles
}

fn clean_roles(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let role = match snake_case(&singular_word(&v)).as_str() {
            "administrator" => "admin".to_string(),
            other => other.to_string(),
        };
        if is_name_word(&role) && !role.contains('-') && !out.contains(&role) && out.len() < 12 {
            out.push(role);
        }
    }
    out
}

/// Roles sorted most privileged first; unknown roles keep their order between the known ranks.
pub(crate) fn order_roles(mut roles: Vec<String>) -> Vec<String> {
    roles.sort_by_key(|r| role_rank(r).unwrap_or(60));
    roles
}

/// Whether a clause only lists roles (`Roles: admin, editor`), which [`detect`] has read.
pub(crate) fn is_roles_clause(tokens: &[Token]) -> bool {
    let marker = tokens.iter().position(|t| {
        matches!(
            t.lower.as_str(),
            ":" | "are" | "is" | "include" | "includes" | "("
        )
    });
    match marker {
        Some(m) if m > 0 => matches!(word(tokens, m - 1), "role" | "roles"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::sentences::tokenize;

    fn check(input: &str, enabled: bool, roles: &[&str]) {
        let info = detect(&tokenize(input));
        let got: Vec<&str> = info.roles.iter().map(String::as_str).collect();
        assert_eq!(
            (info.enabled, got.as_slice()),
            (enabled, roles),
            "auth of {input:?}"
        );
    }

    #[test]
    fn auth_phrases() {
        check("Users log in with email and password.", true, &[]);
        check("Users can sign up.", true, &[]);
        check("JWT authentication", true, &[]);
        check("Attendees register for talks.", false, &[]);
        check("Users register with email.", true, &[]);
        check("Books have a title.", false, &[]);
        check("login", true, &[]);
    }

    #[test]
    fn roles() {
        check(
            "Roles: viewer, admin, editor.",
            true,
            &["admin", "editor", "viewer"],
        );
        check(
            "A user's role is admin or member.",
            true,
            &["admin", "member"],
        );
        check("There are admins and members.", true, &["admin", "member"]);
        check("Admins can delete posts.", true, &["admin", "user"]);
        check(
            "with admin and reporter roles",
            true,
            &["admin", "reporter"],
        );
        check("Members join boards.", false, &[]);
    }

    #[test]
    fn roles_clause() {
        assert!(is_roles_clause(&tokenize("Roles: admin, editor")));
        assert!(is_roles_clause(&tokenize(
            "The user roles are admin and member"
        )));
        assert!(!is_roles_clause(&tokenize("Users have a role")));
    }
}
