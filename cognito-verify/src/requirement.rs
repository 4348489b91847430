//! [`Requirement`]: what one part of an application (an HTTP route, a gRPC
//! method, a queue) asks of a verified token beyond what its pool asks.

use std::sync::Arc;

use crate::Error;
use crate::checks::{check_any_of, token_use_refused};
use crate::claims::{CognitoClaims, Principal, TokenUse};
use crate::config::{Names, check_names};
use crate::error::RefusedBy;

/// A requirement on verified claims, checked with
/// [`check`](Self::check): the piece that tower layers and extractors put
/// on a route, and that any other code can use on its own. Every refusal is
/// an [`Error`] for which
/// [`is_insufficient_permission`](Error::is_insufficient_permission) is
/// true (HTTP 403).
///
/// ```
/// use cognito_verify::Requirement;
///
/// let editors = Requirement::any_group(["editors", "admins"])?;
/// let upload = Requirement::any_scope(["videos/write"])?;
/// # let _ = (editors, upload);
/// // An empty list is a configuration mistake, not "anyone":
/// let none: [&str; 0] = [];
/// assert_eq!(Requirement::any_group(none).unwrap_err().kind(), "invalid_config");
/// # Ok::<(), cognito_verify::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Requirement {
    rule: Rule,
}

#[derive(Clone, Debug)]
enum Rule {
    AnyGroup(Arc<[String]>),
    AnyScope(Arc<[String]>),
    TokenUse(TokenUse),
    User,
    AppClient,
}

impl Requirement {
    /// The user is in at least one of `groups` (`cognito:groups`); else
    /// `missing_group`.
    ///
    /// # Errors
    /// `invalid_config` when the list is empty or names an empty group.
    pub fn any_group<I, S>(groups: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let groups = names(groups, Names::Groups)?;
        Ok(Requirement {
            rule: Rule::AnyGroup(groups.into()),
        })
    }

    /// The token grants at least one of `scopes` (`scope`); else
    /// `missing_scope`.
    ///
    /// # Errors
    /// `invalid_config` when the list is empty, names an empty scope or a
    /// scope with white space in it (RFC 6749 §3.3).
    pub fn any_scope<I, S>(scopes: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = names(scopes, Names::Scopes)?;
        Ok(Requirement {
            rule: Rule::AnyScope(scopes.into()),
        })
    }

    /// The token is an id token or an access token; else
    /// `invalid_token_use` (refused by [`RefusedBy::Requirement`]).
    #[must_use]
    pub fn token_use(token_use: TokenUse) -> Self {
        Requirement {
            rule: Rule::TokenUse(token_use),
        }
    }

    /// The token is a user's ([`Principal::User`]); an app client's own
    /// token (machine to machine) is `user_required`.
    #[must_use]
    pub fn user() -> Self {
        Requirement { rule: Rule::User }
    }

    /// The token is an app client's own ([`Principal::AppClient`]); a
    /// user's token is `app_client_required`.
    #[must_use]
    pub fn app_client() -> Self {
        Requirement {
            rule: Rule::AppClient,
        }
    }

    /// The scopes this requirement wants (any of them), for a
    /// [`any_scope`](Self::any_scope) requirement; `None` for the others.
    /// A refusal names them too ([`Error::MissingScope`]'s `expected`),
    /// which an HTTP layer puts in its challenge's `scope` (RFC 6750 §3).
    ///
    /// ```
    /// use cognito_verify::Requirement;
    ///
    /// let upload = Requirement::any_scope(["videos/write", "videos/admin"])?;
    /// assert_eq!(upload.scopes(), Some(&["videos/write".to_owned(), "videos/admin".to_owned()][..]));
    /// assert_eq!(Requirement::user().scopes(), None);
    /// # Ok::<(), cognito_verify::Error>(())
    /// ```
    #[must_use]
    pub fn scopes(&self) -> Option<&[String]> {
        match &self.rule {
            Rule::AnyScope(scopes) => Some(scopes),
            _ => None,
        }
    }

    /// Met, or the error that says why not.
    ///
    /// # Errors
    /// `missing_group`, `missing_scope`, `invalid_token_use`,
    /// `user_required` or `app_client_required`.
    pub fn check(&self, claims: &CognitoClaims) -> Result<(), Error> {
        match &self.rule {
            Rule::AnyGroup(groups) => check_any_of(groups, claims.groups(), |expected, actual| {
                Error::MissingGroup { expected, actual }
            }),
            Rule::AnyScope(scopes) => check_any_of(scopes, claims.scopes(), |expected, actual| {
                Error::MissingScope { expected, actual }
            }),
            Rule::TokenUse(wanted) if claims.token_use() == *wanted => Ok(()),
            Rule::TokenUse(wanted) => Err(token_use_refused(
                Some(*wanted),
                Some(claims.token_use().as_str()),
                RefusedBy::Requirement,
            )),
            Rule::User => match claims.principal() {
                Principal::User { .. } => Ok(()),
                Principal::AppClient { .. } => Err(Error::UserRequired),
            },
            Rule::AppClient => match claims.principal() {
                Principal::AppClient { .. } => Ok(()),
                Principal::User { .. } => Err(Error::AppClientRequired),
            },
        }
    }
}

/// The names of a requirement, validated as a pool's are.
fn names<I, S>(names: I, kind: Names) -> Result<Vec<String>, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let names: Vec<String> = names.into_iter().map(Into::into).collect();
    check_names(&names, kind).map_err(|why| Error::InvalidConfig(format!("requirement: {why}")))?;
    Ok(names)
}
