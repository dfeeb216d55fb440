use std::fmt;

use zeroize::Zeroize;

/// A value that must never be shown: `Debug` prints `[REDACTED]`, there is no
/// `Display` and no `Serialize`, and the memory is wiped on drop. Reading it
/// takes an explicit [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value. Grep for `expose(` to audit every use.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("canary-7f3a".to_string());
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret([REDACTED]),\n)"
        );
        assert_eq!(s.expose(), "canary-7f3a");
    }
}
