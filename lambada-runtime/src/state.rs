//! Shared state: the values given to [`Routes::with_state`](crate::Routes::with_state),
//! looked up by type by the `State<T>` extractor and by trigger handlers.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// A shared-state type a handler needs.
#[derive(Clone, Copy)]
pub struct StateKey {
    /// `TypeId::of::<T>`.
    pub type_id: fn() -> TypeId,
    /// `std::any::type_name::<T>`.
    pub type_name: fn() -> &'static str,
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str((self.type_name)())
    }
}

impl StateKey {
    /// The key for `T`.
    pub const fn of<T: Any>() -> StateKey {
        StateKey {
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
        }
    }
}

/// A set of shared states, looked up by type.
#[derive(Default, Clone)]
pub struct States {
    entries: Vec<(TypeId, &'static str, Arc<dyn Any + Send + Sync>)>,
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.1))
            .finish()
    }
}

impl States {
    /// No state.
    pub(crate) const fn new() -> States {
        States {
            entries: Vec::new(),
        }
    }
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        self.entries.retain(|e| e.0 != id);
        self.entries
            .push((id, std::any::type_name::<T>(), Arc::new(value)));
    }
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let id = TypeId::of::<T>();
        let e = self.entries.iter().find(|e| e.0 == id)?;
        e.2.clone().downcast::<T>().ok()
    }
    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.entries.iter().any(|e| e.0 == id)
    }
}
