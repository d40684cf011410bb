//! Password generation following CIPP's rules, from the operating system's CSPRNG.

use cipp_core::Error;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

const UPPER: &str = "ABCDEFGHKLMNPRSTUVWXYZ";
const LOWER: &str = "abcdefghkmnrstuvwxyz";
const DIGITS: &str = "23456789";
/// The specials CIPP allows in the classic generator.
pub const ALLOWED_SPECIALS: &str = "!@#$%^&*()-_=+/";

/// How to generate a password.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordStyle {
    /// Random characters (CIPP's "Classic").
    Classic {
        /// Length, 8–256 (default 14).
        length: usize,
        /// Upper-case letters (ambiguous ones removed).
        upper: bool,
        /// Lower-case letters (ambiguous ones removed).
        lower: bool,
        /// Digits 2–9.
        digits: bool,
        /// Special characters from this set (a subset of [`ALLOWED_SPECIALS`]); empty
        /// disables the class.
        specials: String,
    },
    /// Words joined by a separator (CIPP's "Correct-Battery-Horse").
    Passphrase {
        /// Words, 2–10 (default 4).
        words: usize,
        /// Separator (default `-`).
        separator: String,
        /// Capitalise each word.
        capitalize: bool,
        /// Append a two-digit number to one word.
        number: bool,
        /// Append a special character to another word.
        special: bool,
    },
}

impl Default for PasswordStyle {
    fn default() -> Self {
        PasswordStyle::Classic {
            length: 14,
            upper: true,
            lower: true,
            digits: true,
            specials: "$%&*#".into(),
        }
    }
}

impl PasswordStyle {
    /// CIPP's default passphrase: four capitalised words, `-`, a number and a special.
    pub fn passphrase() -> Self {
        PasswordStyle::Passphrase {
            words: 4,
            separator: "-".into(),
            capitalize: true,
            number: true,
            special: true,
        }
    }
}

/// A short list of common, unambiguous English words for passphrases.
const WORDS: &[&str] = &[
    "anchor", "apple", "arrow", "autumn", "badge", "basket", "beacon", "bridge", "bright", "cabin",
    "candle", "canyon", "castle", "cedar", "chalk", "cherry", "cliff", "cloud", "comet", "copper",
    "coral", "cotton", "crystal", "dawn", "delta", "desert", "dolphin", "dragon", "eagle", "ember",
    "engine", "falcon", "feather", "forest", "fossil", "galaxy", "garden", "glacier", "granite",
    "harbor", "hazel", "helmet", "horizon", "island", "ivory", "jungle", "kettle", "lantern",
    "lemon", "maple", "marble", "meadow", "meteor", "mirror", "monsoon", "mountain", "nectar",
    "nickel", "oasis", "ocean", "orbit", "orchid", "otter", "paddle", "pepper", "pebble", "pilot",
    "planet", "prairie", "puzzle", "quartz", "rabbit", "radar", "raven", "ribbon", "river",
    "rocket", "saddle", "salmon", "shadow", "silver", "sketch", "spruce", "summit", "sunset",
    "tablet", "thunder", "timber", "tundra", "valley", "velvet", "violet", "voyage", "walnut",
    "willow", "window", "winter", "yellow", "zephyr",
];

/// An error on `field` unless `value` is within `range` ("must be 8–256, got 7").
fn check_range(
    field: &str,
    value: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), Error> {
    if range.contains(&value) {
        Ok(())
    } else {
        let (low, high) = range.into_inner();
        Err(Error::invalid_input(
            field,
            format!("must be {low}–{high}, got {value}"),
        ))
    }
}

/// Generates a password in `style`. Classic passwords contain every enabled class (at
/// least 3 of the 4 must be enabled); passphrases meet Microsoft 365 complexity
/// (3 classes, 8–256 characters). Invalid settings are refused before anything is made.
///
/// ```
/// use cipp_graph::password::{generate, PasswordStyle};
/// use secrecy::ExposeSecret;
/// let p = generate(&PasswordStyle::default())?;
/// assert_eq!(p.expose_secret().chars().count(), 14);
/// # Ok::<(), cipp_core::Error>(())
/// ```
pub fn generate(style: &PasswordStyle) -> Result<SecretString, Error> {
    let mut rng = StdRng::from_os_rng();
    match style {
        PasswordStyle::Classic {
            length,
            upper,
            lower,
            digits,
            specials,
        } => {
            check_range("length", *length, 8..=256)?;
            if let Some(bad) = specials.chars().find(|c| !ALLOWED_SPECIALS.contains(*c)) {
                return Err(Error::invalid_input(
                    "specials",
                    format!("`{bad}` is not one of {ALLOWED_SPECIALS}"),
                ));
            }
            let mut classes: Vec<Vec<char>> = Vec::new();
            if *upper {
                classes.push(UPPER.chars().collect());
            }
            if *lower {
                classes.push(LOWER.chars().collect());
            }
            if *digits {
                classes.push(DIGITS.chars().collect());
            }
            if !specials.is_empty() {
                classes.push(specials.chars().collect());
            }
            if classes.len() < 3 {
                return Err(Error::invalid_input(
                    "classes",
                    "at least 3 of upper, lower, digits and specials are required",
                ));
            }
            // One from each class, the rest from the union, then shuffled: every class is
            // present without CIPP's regenerate-until-it-fits loop.
            let pool: Vec<char> = classes.iter().flatten().copied().collect();
            let mut out: Vec<char> = classes
                .iter()
                .filter_map(|c| c.choose(&mut rng).copied())
                .collect();
            while out.len() < *length {
                if let Some(c) = pool.choose(&mut rng) {
                    out.push(*c);
                }
            }
            out.shuffle(&mut rng);
            Ok(SecretString::from(out.into_iter().collect::<String>()))
        }
        PasswordStyle::Passphrase {
            words,
            separator,
            capitalize,
            number,
            special,
        } => {
            check_range("words", *words, 2..=10)?;
            let mut chosen: Vec<String> = WORDS
                .choose_multiple(&mut rng, *words)
                .map(|w| {
                    if *capitalize {
                        let mut c = w.chars();
                        c.next().map_or(String::new(), |f| {
                            f.to_ascii_uppercase().to_string() + c.as_str()
                        })
                    } else {
                        (*w).to_owned()
                    }
                })
                .collect();
            let n = chosen.len();
            let num_at = rng.random_range(0..n);
            if *number {
                let v: u8 = rng.random_range(10..100);
                chosen[num_at].push_str(&v.to_string());
            }
            if *special {
                let mut at = rng.random_range(0..n);
                if *number && n > 1 && at == num_at {
                    at = (at + 1) % n;
                }
                let s = ['!', '#', '$', '%', '&', '*'][rng.random_range(0..6)];
                chosen[at].push(s);
            }
            let phrase = chosen.join(separator);
            let classes = [
                phrase.chars().any(|c| c.is_ascii_uppercase()),
                phrase.chars().any(|c| c.is_ascii_lowercase()),
                phrase.chars().any(|c| c.is_ascii_digit()),
                phrase.chars().any(|c| !c.is_ascii_alphanumeric()),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if classes < 3 || !(8..=256).contains(&phrase.chars().count()) {
                return Err(Error::invalid_input(
                    "passphrase",
                    "these settings cannot meet Microsoft 365 complexity (3 character classes, 8–256 characters): enable capitalisation, a number or a special",
                ));
            }
            Ok(SecretString::from(phrase))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn classic_has_every_class_and_no_ambiguous_glyphs() {
        for _ in 0..200 {
            let p = generate(&PasswordStyle::default()).unwrap();
            let s = p.expose_secret();
            assert_eq!(s.len(), 14);
            assert!(s.chars().any(|c| c.is_ascii_uppercase()));
            assert!(s.chars().any(|c| c.is_ascii_lowercase()));
            assert!(s.chars().any(|c| c.is_ascii_digit()));
            assert!(s.chars().any(|c| "$%&*#".contains(c)));
            assert!(!s.chars().any(|c| "0O1lIioQjJ".contains(c)), "{s}");
        }
    }

    #[test]
    fn classic_settings_validated() {
        let mk = |length, upper, lower, digits, specials: &str| PasswordStyle::Classic {
            length,
            upper,
            lower,
            digits,
            specials: specials.into(),
        };
        assert!(generate(&mk(7, true, true, true, "$")).is_err());
        assert!(generate(&mk(257, true, true, true, "$")).is_err());
        assert!(generate(&mk(14, true, true, false, "")).is_err());
        assert!(generate(&mk(14, true, true, true, "~")).is_err());
        let p = generate(&mk(20, true, true, true, "")).unwrap();
        assert_eq!(p.expose_secret().len(), 20);
    }

    #[test]
    fn passphrases_meet_complexity() {
        for _ in 0..100 {
            let p = generate(&PasswordStyle::passphrase()).unwrap();
            let s = p.expose_secret();
            assert_eq!(s.matches('-').count(), 3, "{s}");
            assert!(s.chars().any(|c| c.is_ascii_digit()));
            assert!(s.chars().any(|c| c.is_ascii_uppercase()));
        }
        let weak = PasswordStyle::Passphrase {
            words: 2,
            separator: "".into(),
            capitalize: false,
            number: false,
            special: false,
        };
        assert!(generate(&weak).is_err());
    }

    #[test]
    fn passwords_differ() {
        let a = generate(&PasswordStyle::default()).unwrap();
        let b = generate(&PasswordStyle::default()).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
