//! Authentication and roles, read from tagged words: `users log in`, `sign up`, `JWT`,
//! `accounts`, `roles: admin, editor`, and role words (`admins`, `moderators`) once login is on.

use codebegen_schema::names::snake_case;

use super::lexicon::{VerbClass, LEXICON};
use super::pos::{Tag, Word};

/// What the prompt says about logging in.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AuthInfo {
    /// Whether users log in.
    pub enabled: bool,
    /// Roles, in the order named.
    pub roles: Vec<String>,
    /// The words that turned auth on, for the diagnostic.
    pub reason: String,
}

fn auth_phrase(words: &[Word], i: usize) -> Option<String> {
    let w = words[i].lower.as_str();
    let next = words.get(i + 1).map(|w| w.lower.as_str()).unwrap_or("");
    match w {
        "login" | "logout" | "signup" | "signin" | "log-in" | "sign-up" | "sign-in" | "logins"
        | "authentication" | "authenticate" | "authenticated" | "auth" | "jwt" | "oauth"
        | "oauth2" | "sso" | "password" | "passwords" => Some(w.to_string()),
        "log" | "logs" | "logged" | "logging" if matches!(next, "in" | "on" | "out") => {
            Some(format!("{w} {next}"))
        }
        "sign" | "signs" | "signed" | "signing" if matches!(next, "up" | "in" | "on") => {
            Some(format!("{w} {next}"))
        }
        "register" | "registers" | "registered"
            if !matches!(next, "for" | "to" | "at" | "in" | "on" | "with")
                && i + 1 >= words.len()
                || matches!(next, "and" | "an" | "accounts") =>
        {
            Some(w.to_string())
        }
        "accounts" | "account"
            if i > 0
                && matches!(
                    words[i - 1].lower.as_str(),
                    "user" | "create" | "their" | "an" | "own"
                ) =>
        {
            Some(format!("{} {w}", words[i - 1].lower))
        }
        _ => {
            let verb = LEXICON.verb_form(w).map(|(v, _)| v.class);
            (verb == Some(VerbClass::Auth) && w != "sign" && w != "signs").then(|| w.to_string())
        }
    }
}

/// Reads auth and roles from the tagged sentences.
pub(crate) fn detect(sentences: &[Vec<Word>]) -> AuthInfo {
    let mut info = AuthInfo::default();
    let mut roles: Vec<String> = Vec::new();
    for words in sentences {
        for i in 0..words.len() {
            if let Some(reason) = auth_phrase(words, i) {
                if !info.enabled {
                    info.enabled = true;
                    info.reason = reason;
                }
            }
            // `roles: admin, editor`, `roles are admin and viewer`, `admin and editor roles`
            if matches!(words[i].lower.as_str(), "role" | "roles") {
                let after = words[i + 1..]
                    .iter()
                    .skip_while(|w| {
                        matches!(w.tag, Tag::Be | Tag::Punct(_) | Tag::Quant | Tag::Num)
                            || matches!(
                                w.lower.as_str(),
                                "include" | "including" | "like" | "such" | "as" | "of" | "either"
                            )
                    })
                    .take_while(|w| {
                        matches!(
                            w.tag,
                            Tag::Noun
                                | Tag::Adj
                                | Tag::And
                                | Tag::Or
                                | Tag::Punct(',')
                                | Tag::Det
                                | Tag::Punct(')')
                        )
                    });
                for w in after {
                    if w.tag == Tag::Noun || w.tag == Tag::Adj {
                        let role = snake_case(&w.lemma);
                        if !roles.contains(&role) {
                            roles.push(role);
                        }
                    }
                }
            }
        }
    }
    for words in sentences {
        for w in words {
            if w.tag == Tag::Noun
                && LEXICON.noun_is(&w.lemma, "role")
                && !LEXICON.noun_is(&w.lemma, "person")
                && !roles.contains(&w.lemma)
                && info.enabled
            {
                roles.push(w.lemma.clone());
            }
        }
    }
    // `Admins manage products`: an administrator means people log in, as admins or users.
    let admin_word = sentences.iter().flatten().find(|w| {
        w.tag == Tag::Noun
            && matches!(
                w.lemma.as_str(),
                "admin" | "administrator" | "moderator" | "superuser"
            )
    });
    if let (Some(word), false) = (admin_word, info.enabled) {
        info.enabled = true;
        info.reason = word.lower.clone();
        if !roles.contains(&word.lemma) {
            roles.push(word.lemma.clone());
        }
        if roles.len() == 1 {
            roles.push("user".into());
        }
    }
    if !roles.is_empty() && !info.enabled {
        info.enabled = roles.len() >= 2
            || roles
                .iter()
                .any(|r| matches!(r.as_str(), "admin" | "administrator" | "moderator"));
        info.reason = "roles".into();
    }
    if info.enabled {
        info.roles = roles;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{pos::tag, tokens::sentences};

    fn check(prompt: &str, enabled: bool, roles: &[&str]) {
        let tagged: Vec<Vec<Word>> = sentences(prompt).iter().map(|s| tag(s)).collect();
        let info = detect(&tagged);
        assert_eq!(
            (
                info.enabled,
                info.roles.iter().map(String::as_str).collect::<Vec<_>>()
            ),
            (enabled, roles.to_vec()),
            "{prompt}"
        );
    }

    #[test]
    fn login_and_roles() {
        check("users sign up and log in", true, &[]);
        check("attendees register for talks", false, &[]);
        check("admins can delete posts; users log in", true, &["admin"]);
        check(
            "Roles: admin, editor, viewer. Users log in.",
            true,
            &["admin", "editor", "viewer"],
        );
        check("books have a title", false, &[]);
    }
}
