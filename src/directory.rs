//! Users by username, remembered when they are looked up or sign in (a socket or a request
//! with their credentials), so that a send does not read the store to find its recipient: a
//! recipient who is online has always been seen already. Without that, the first message to
//! each of 5,000 people waited for its own read of the store, and those reads queued behind
//! one another for up to 0.6 s when many people started talking at once.
//!
//! A user, once created, never changes its id, username or display name, with one exception: a
//! deleted account is renamed (v2 safety). Its entry is forgotten on every node when its
//! sockets are closed (`Hub::close_user`, which the bus runs on every node), once before and
//! once after the rename. Only users that exist are remembered (one
//! created later is found in the store on its first lookup), and the map is bounded: when it is
//! full it starts over, which costs a store read per user until it is warm again.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::User;
use crate::domain::input::Username;

pub struct Directory {
    by_name: Mutex<HashMap<String, User>>,
    capacity: usize,
}

impl Directory {
    pub fn new(capacity: usize) -> Self {
        Directory {
            by_name: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, username: &Username) -> Option<User> {
        let map = self.by_name.lock().ok()?;
        map.get(username.as_str()).cloned()
    }

    /// Forgets user `id`, whatever name it is remembered under (the account was deleted).
    pub fn forget_user(&self, id: crate::domain::UserId) {
        if let Ok(mut map) = self.by_name.lock() {
            map.retain(|_, user| user.id != id);
        }
    }

    pub fn remember(&self, user: &User) {
        let Ok(mut map) = self.by_name.lock() else {
            return;
        };
        if map.contains_key(&user.username) {
            return;
        }
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(user.username.clone(), user.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;

    fn user(id: i64, name: &str) -> User {
        User {
            id: UserId(id),
            username: name.to_owned(),
            display_name: name.to_uppercase(),
        }
    }

    #[test]
    fn finds_what_it_remembered_by_the_normalised_name() {
        let directory = Directory::new(10);
        directory.remember(&user(1, "alice"));
        let found = directory.get(&Username::parse("Alice").unwrap());
        assert_eq!(found.map(|u| u.id), Some(UserId(1)));
        assert!(directory.get(&Username::parse("bob").unwrap()).is_none());
    }

    #[test]
    fn stays_within_its_capacity() {
        let directory = Directory::new(3);
        for i in 0..10 {
            directory.remember(&user(i, &format!("user{i}")));
            assert!(directory.by_name.lock().unwrap().len() <= 3);
        }
        assert!(directory.get(&Username::parse("user9").unwrap()).is_some());
    }
}
