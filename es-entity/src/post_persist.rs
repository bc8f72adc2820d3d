//! [`PostPersistHookError`]: a repository's post-persist hook failed.

use std::error::Error as StdError;
use std::fmt;

/// The error a repository's `post_persist_hook` returned, boxed, with the
/// hook's name. Repository writes report it as the `PostPersistHook`
/// variant of their error (`CreateError`, `ModifyError`,
/// `UncheckedModifyError`); get the hook's own error back with
/// [`downcast_ref`](Self::downcast_ref) or [`downcast`](Self::downcast).
///
/// ```
/// use es_entity::PostPersistHookError;
///
/// #[derive(Debug)]
/// struct OutOfStock;
/// impl std::fmt::Display for OutOfStock {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("out of stock")
///     }
/// }
/// impl std::error::Error for OutOfStock {}
///
/// let err = PostPersistHookError::new("project", OutOfStock);
/// assert_eq!(err.hook(), "project");
/// assert!(err.is::<OutOfStock>());
/// assert!(err.downcast_ref::<sqlx::Error>().is_none());
/// assert_eq!(err.to_string(), "post-persist hook `project` failed: out of stock");
/// let _original: OutOfStock = err.downcast().unwrap();
/// ```
pub struct PostPersistHookError {
    hook: &'static str,
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl PostPersistHookError {
    /// Wraps `source`, the error of the hook method named `hook`.
    pub fn new(hook: &'static str, source: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            hook,
            source: Box::new(source),
        }
    }

    /// The name of the hook method, as `post_persist_hook` gives it.
    pub fn hook(&self) -> &'static str {
        self.hook
    }

    /// Whether the hook's error is an `E`.
    pub fn is<E: StdError + 'static>(&self) -> bool {
        self.source.is::<E>()
    }

    /// The hook's error, if it is an `E`.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref::<E>()
    }

    /// The hook's error by value, if it is an `E`; otherwise `self` again.
    pub fn downcast<E: StdError + 'static>(self) -> Result<E, Self> {
        match self.source.downcast::<E>() {
            Ok(e) => Ok(*e),
            Err(source) => Err(Self {
                hook: self.hook,
                source,
            }),
        }
    }

    /// The hook's error, type-erased.
    pub fn into_inner(self) -> Box<dyn StdError + Send + Sync + 'static> {
        self.source
    }

    /// Whether the hook failed with a `sqlx::Error` that is transient (see
    /// [`is_transient_sqlx`](crate::is_transient_sqlx)): a serialization
    /// failure or deadlock of the hook's own statements, for instance.
    /// Retry policies that opt in to transient errors retry those.
    pub fn is_transient(&self) -> bool {
        self.downcast_ref::<sqlx::Error>()
            .is_some_and(crate::retry::is_transient_sqlx)
    }
}

impl fmt::Debug for PostPersistHookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostPersistHookError")
            .field("hook", &self.hook)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for PostPersistHookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "post-persist hook `{}` failed: {}",
            self.hook, self.source
        )
    }
}

impl StdError for PostPersistHookError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
