//! Property tests: arbitrary input and arbitrary mutations of a valid token
//! never panic and never verify.

mod common;

use std::sync::OnceLock;

use common::CLIENT;
use proptest::prelude::*;

struct Fixture {
    env: common::Hydrated,
    token: String,
}

/// One issuer and one hydrated verifier for all cases; cases use the
/// synchronous `verify_cached`, so they never wait on the network.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let env = common::hydrated(|issuer| common::verifier(issuer, common::access, |b| b));
        let token = env.issuer.access_token(CLIENT).sign();
        env.verifier
            .verify_cached(&token)
            .expect("the unmutated token verifies");
        Fixture { env, token }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Replace { at: usize, with: char },
    Insert { at: usize, with: char },
    Delete { at: usize },
    Truncate { at: usize },
    SwapSegments { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let any_char = prop_oneof![
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('_'),
        Just('.'),
        Just('='),
        Just('+'),
        Just('/'),
        Just(' '),
        any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..7).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any_char.clone()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        (any::<usize>(), any_char).prop_map(|(at, with)| Mutation::Insert { at, with }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Mutation::SwapSegments { a, b }),
    ]
}

fn apply(token: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let n = chars.len();
    if n == 0 {
        return "x".to_owned();
    }
    match *m {
        Mutation::Flip { at, bit } => {
            let c = chars[at % n] as u8 ^ (1 << bit);
            chars[at % n] = c as char;
        }
        Mutation::Replace { at, with } => chars[at % n] = with,
        Mutation::Insert { at, with } => chars.insert(at % (n + 1), with),
        Mutation::Delete { at } => {
            chars.remove(at % n);
        }
        Mutation::Truncate { at } => chars.truncate(at % n),
        Mutation::SwapSegments { a, b } => {
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            if a.max(b) >= parts.len() {
                return token.to_owned();
            }
            parts.swap(a, b);
            return parts.join(".");
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_verify(s in any::<String>()) {
        prop_assert!(fixture().env.verifier.verify_cached(&s).is_err());
    }

    #[test]
    fn token_shaped_strings_never_verify(s in "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,400}\\.[A-Za-z0-9_-]{0,400}") {
        prop_assert!(fixture().env.verifier.verify_cached(&s).is_err());
    }

    #[test]
    fn mutations_of_a_valid_token_never_verify(ms in proptest::collection::vec(mutation(), 1..4)) {
        let f = fixture();
        let mut token = f.token.clone();
        for m in &ms {
            token = apply(&token, m);
        }
        prop_assume!(token != f.token);
        let result = f.env.verifier.verify_cached(&token);
        prop_assert!(result.is_err(), "a mutated token verified: {:?}", ms);
    }
}
