//! The event stream read side: every event of a user after a cursor, in order.

use crate::app::App;
use crate::domain::User;
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::event::Event;
use crate::domain::ids::Cursor;
use crate::store::EventPage;

pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

/// A page of a user's stream and the cursor to continue from.
pub struct Page {
    pub events: Vec<Event>,
    /// The last cursor in this page, or `since` when the page is empty.
    pub next: Cursor,
    pub has_more: bool,
}

/// The caller's events after `since` (`Cursor(0)`: from the start), at most `limit`.
pub async fn events_since(
    app: &App,
    user: &User,
    since: Cursor,
    limit: u32,
) -> Result<Page, Error> {
    let page = app.store.events_since(user.id, since, limit).await?;
    if page.events.is_empty() && since.0 > 0 {
        check_not_beyond(app, user, since).await?;
    }
    let next = page.events.last().map_or(since, Event::cursor);
    Ok(Page {
        events: page.events,
        next,
        has_more: page.has_more,
    })
}

/// The events of a socket's own stream after the last cursor it sent, for its replay and
/// catch-up (the cursor came from the server, so it is never beyond the stream's end).
pub async fn catch_up(
    app: &App,
    user: &User,
    last: Cursor,
    limit: u32,
) -> Result<EventPage, Error> {
    Ok(app.store.events_since(user.id, last, limit).await?)
}

/// Where a live stream starts: after `since`, or at the user's latest cursor when absent (live
/// only).
pub async fn start_cursor(app: &App, user: &User, since: Option<Cursor>) -> Result<Cursor, Error> {
    let latest = app.store.last_cursor(user.id).await?;
    match since {
        Some(since) if since > latest => Err(beyond(since, latest)),
        Some(since) => Ok(since),
        None => Ok(latest),
    }
}

/// A cursor the server never handed out is a client bug that would hide events: refuse it.
async fn check_not_beyond(app: &App, user: &User, since: Cursor) -> Result<(), Error> {
    let latest = app.store.last_cursor(user.id).await?;
    if since > latest {
        Err(beyond(since, latest))
    } else {
        Ok(())
    }
}

fn beyond(since: Cursor, latest: Cursor) -> Error {
    Error::invalid(
        code::INVALID_CURSOR,
        format!(
            "since={} is beyond your latest cursor {}",
            since.0, latest.0
        ),
    )
}

/// The user's latest cursor: a client that loads a snapshot after reading it and then replays
/// from it sees every later event (some twice at the seam, which it dedupes by id).
pub async fn latest_cursor(app: &App, user: &User) -> Result<Cursor, Error> {
    Ok(app.store.last_cursor(user.id).await?)
}
