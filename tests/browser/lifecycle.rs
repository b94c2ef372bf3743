//! Replies, edits, deletes and reactions on the chat pages, all through each message's actions
//! menu and its chips: Alice (desktop) and Bob (phone) reply with quotes, react, edit in place
//! and delete for everyone, live; Bob's page loses its connection for a while, Alice goes on,
//! and his page catches up from its cursor. At the end both pages show the same messages —
//! bodies, "edited" labels, deleted placeholders, quotes and reaction chips alike — and a quote
//! pressed shows the message it quotes, loading older pages (by real ids) until it is there.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::screens::FITS;
use crate::support::{ApiUser, TestServer, log_in_on_page, wait_text_shown};

/// A JavaScript expression: the stored messages shown, as both people must see them alike
/// (usernames rather than "You", so two pages compare).
const SNAPSHOT: &str = r#"[...document.querySelectorAll('#message-list li[data-message-id]')].map((li) => {
  const quote = li.querySelector('.quote');
  return {
    id: Number(li.dataset.messageId),
    sender: li.dataset.sender,
    body: li.querySelector('.body')?.textContent ?? null,
    edited: !!li.querySelector('.edited-label'),
    deleted: li.querySelector('.tombstone')?.textContent ?? null,
    actions: !!li.querySelector('.menu-button'),
    quote: quote ? [Number(quote.dataset.replyTo), quote.dataset.sender, quote.querySelector('.quote-body').textContent] : null,
    reactions: [...li.querySelectorAll('.reaction')]
      .map((c) => `${c.dataset.emoji} ${c.dataset.users} ${c.querySelector('.reaction-count').textContent}`),
  };
})"#;

/// Reconnecting follows a backoff; allow for a few rounds of it.
const RECONNECT_WAIT: Duration = Duration::from_secs(20);

/// The CSS selector of stored message `id` in the open chat.
fn msg(id: i64) -> String {
    format!("#message-list li[data-message-id='{id}']")
}

/// The messages shown from id `from` on, normalized.
async fn snapshot(page: &Page, from: i64) -> Value {
    page.eval(&format!("{SNAPSHOT}.filter((m) => m.id >= {from})"))
        .await
}

/// Waits until `page` shows message `id` as `expected` (a JavaScript condition on `m`, the
/// message's snapshot).
async fn wait_message(page: &Page, id: i64, expected: &str) {
    page.wait_for(&format!(
        "(() => {{ const m = {SNAPSHOT}.find((m) => m.id === {id}); return !!m && ({expected}); }})()"
    ))
    .await;
}

/// Waits until both pages show the same messages from `from` on; returns them.
async fn wait_same(a: &Page, b: &Page, from: i64) -> Value {
    let started = Instant::now();
    loop {
        let (left, right) = (snapshot(a, from).await, snapshot(b, from).await);
        if left == right {
            return left;
        }
        if started.elapsed() > Duration::from_secs(10) {
            panic!(
                "the pages differ:\n{}: {left:#}\n{}: {right:#}",
                a.name, b.name
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens message `id`'s actions menu with the mouse.
async fn open_menu(page: &Page, id: i64) {
    page.click(&format!("{} .menu-button", msg(id))).await;
    page.wait_for(&format!(
        "!document.getElementById('message-menu').hidden && \
         document.querySelector(\"{} .menu-button\").getAttribute('aria-expanded') === 'true'",
        msg(id)
    ))
    .await;
}

/// Chooses `action` (reply, edit, delete, info) in message `id`'s menu.
async fn choose(page: &Page, id: i64, action: &str) {
    open_menu(page, id).await;
    page.click(&format!("#message-menu [data-action={action}]"))
        .await;
    page.wait_for("document.getElementById('message-menu').hidden")
        .await;
}

/// Reacts to message `id` with `emoji` from its menu's picker.
async fn react(page: &Page, id: i64, emoji: &str) {
    open_menu(page, id).await;
    page.click(&format!("#message-menu [data-emoji='{emoji}']"))
        .await;
    page.wait_for("document.getElementById('message-menu').hidden")
        .await;
}

/// Edits my message `id` in place to `body` (Enter saves).
async fn edit(page: &Page, id: i64, body: &str) {
    choose(page, id, "edit").await;
    page.wait_for(&format!(
        "document.activeElement === document.querySelector(\"{} .editor-input\")",
        msg(id)
    ))
    .await;
    page.eval("document.activeElement.select()").await;
    page.insert_text(body).await;
    page.press_enter(false).await;
    page.wait_for(&format!("!document.querySelector(\"{} .editor\")", msg(id)))
        .await;
}

/// The id of the newest stored message shown.
async fn newest_id(page: &Page) -> i64 {
    page.eval("Number([...document.querySelectorAll('#message-list li[data-message-id]')].at(-1).dataset.messageId)")
        .await
        .as_i64()
        .expect("an id")
}

/// Types `text` where the focus is (the message box) and sends it, with the reply bar's quote
/// if it is shown; returns the stored message's id.
async fn send_here(page: &Page, text: &str) -> i64 {
    page.insert_text(text).await;
    page.press_enter(false).await;
    page.wait_for("document.getElementById('reply-bar').hidden")
        .await;
    wait_text_shown(page, text, 1).await;
    page.wait_for(
        "document.querySelectorAll('#message-list .msg:not([data-message-id])').length === 0",
    )
    .await;
    newest_id(page).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_reply_edit_delete_and_react_and_catch_up_after_a_drop() {
    let server = TestServer::start().await;
    let alice = ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    let bob = ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    // Bob's notes, then more than a page of chat, then his question about the notes.
    let notes = bob
        .send("alice", "notes", "Notes from Monday are in the doc")
        .await["id"]
        .as_i64()
        .unwrap();
    for i in 0..55 {
        let (from, to) = if i % 2 == 0 {
            (&alice, "bob")
        } else {
            (&bob, "alice")
        };
        from.send(to, &format!("filler-{i}"), &format!("Earlier message {i}"))
            .await;
    }
    let question = bob
        .send_reply("alice", "question", "Can you check item 3?", notes)
        .await["id"]
        .as_i64()
        .unwrap();
    let meet = alice.send("bob", "meet", "Let's meet at 3").await["id"]
        .as_i64()
        .unwrap();
    let lunch = bob
        .send("alice", "lunch", "Lunch first?\nI'm starving")
        .await["id"]
        .as_i64()
        .unwrap();

    let browser = Browser::launch().await;
    let alice_page = Page::open(&browser, "alice", Screen::Desktop).await;
    let bob_page = Page::open(&browser, "bob", Screen::Phone).await;
    bob_page.track_sockets().await;
    log_in_on_page(&alice_page, &server, "alice", "/messages/chat/bob/").await;
    log_in_on_page(&bob_page, &server, "bob", "/messages/chat/alice/").await;
    for page in [&alice_page, &bob_page] {
        wait_message(
            page,
            question,
            &format!("m.quote[0] === {notes} && m.quote[2] === 'Notes from Monday are in the doc'"),
        )
        .await;
        wait_message(page, lunch, "m.actions").await;
    }

    // Alice opens Bob's last message's menu from the keyboard: the first emoji has the focus,
    // the arrows move, Escape closes it and gives the focus back to the button.
    let lunch_button = format!("document.querySelector(\"{} .menu-button\")", msg(lunch));
    alice_page.eval(&format!("{lunch_button}.focus()")).await;
    alice_page.press_enter(false).await;
    alice_page
        .wait_for("document.activeElement?.dataset.emoji === '👍'")
        .await;
    alice_page.press_key("ArrowRight", 39).await;
    alice_page
        .wait_for("document.activeElement?.getAttribute('aria-label') === 'React with red heart'")
        .await;
    alice_page.press_key("ArrowDown", 40).await;
    alice_page
        .wait_for("document.activeElement?.dataset.action === 'reply'")
        .await;
    axe::check(&alice_page, "a chat with a message's actions menu open").await;
    alice_page.screenshot("desktop-lifecycle-menu").await;
    alice_page.press_escape().await;
    alice_page
        .wait_for(&format!(
            "document.getElementById('message-menu').hidden && document.activeElement === {lunch_button}"
        ))
        .await;

    // Reply, by keyboard: the quote bar names Bob and the first line of his message.
    alice_page.press_enter(false).await;
    alice_page.press_key("ArrowDown", 40).await;
    alice_page
        .wait_for("document.activeElement?.dataset.action === 'reply'")
        .await;
    alice_page.press_enter(false).await;
    alice_page
        .wait_for("!document.getElementById('reply-bar').hidden && document.activeElement.id === 'message-input'")
        .await;
    assert_eq!(
        alice_page
            .eval("document.getElementById('reply-bar-text').textContent")
            .await,
        "Replying to Bob ChenLunch first?"
    );
    axe::check(&alice_page, "a chat with the reply bar shown").await;
    let yes = send_here(&alice_page, "Yes, 12:30 at the usual place").await;
    for page in [&alice_page, &bob_page] {
        wait_message(
            page,
            yes,
            &format!(
                "m.quote[0] === {lunch} && m.quote[1] === 'bob' && m.quote[2] === 'Lunch first?'"
            ),
        )
        .await;
    }

    // Reactions, live: Bob 👍 from his picker; Alice ❤️, then she presses the 👍 chip, which
    // replaces her ❤️ (one reaction each).
    react(&bob_page, yes, "👍").await;
    for page in [&alice_page, &bob_page] {
        wait_message(page, yes, "m.reactions.join() === '👍 bob 1'").await;
    }
    react(&alice_page, yes, "❤️").await;
    for page in [&alice_page, &bob_page] {
        wait_message(page, yes, "m.reactions.join('|') === '👍 bob 1|❤️ alice 1'").await;
    }
    alice_page
        .click(&format!("{} .reaction[data-emoji='👍']", msg(yes)))
        .await;
    for page in [&alice_page, &bob_page] {
        wait_message(page, yes, "m.reactions.join('|') === '👍 bob,alice 2'").await;
    }
    let chip = format!("document.querySelector(\"{} .reaction\")", msg(yes));
    assert_eq!(
        alice_page.eval(&format!("{chip}.title")).await,
        "Bob Chen, You"
    );
    assert_eq!(
        alice_page
            .eval(&format!("{chip}.getAttribute('aria-pressed')"))
            .await,
        "true"
    );
    assert_eq!(
        bob_page
            .eval(&format!("{chip}.getAttribute('aria-label')"))
            .await,
        "thumbs up, 2: You and Alice Martin"
    );
    // Her current reaction is marked in the picker; choosing it again takes it away.
    open_menu(&alice_page, yes).await;
    alice_page
        .wait_for(
            "document.querySelector('#message-menu [aria-checked=true]')?.dataset.emoji === '👍'",
        )
        .await;
    alice_page.press_escape().await;

    // Bob replies to Alice's "meet at 3" from his menu, on his phone.
    choose(&bob_page, meet, "reply").await;
    bob_page
        .wait_for(
            "document.querySelector('#reply-bar .reply-body').textContent === \"Let's meet at 3\"",
        )
        .await;
    bob_page.screenshot("phone-lifecycle-reply").await;
    let works = send_here(&bob_page, "3 works for me").await;

    // Alice edits it in place: both pages show the new text, "edited", and Bob's quote follows.
    edit(&alice_page, meet, "Let's meet at 4").await;
    for page in [&alice_page, &bob_page] {
        wait_message(page, meet, "m.body === \"Let's meet at 4\" && m.edited").await;
        wait_message(page, works, "m.quote[2] === \"Let's meet at 4\"").await;
    }

    // Bob's connection drops. Alice goes on: she deletes her reply (its chips go with it),
    // reacts to his, edits again, and sends and deletes one more message.
    bob_page.set_offline(true).await;
    bob_page
        .wait_for("document.documentElement.dataset.connection !== 'open'")
        .await;
    choose(&alice_page, yes, "delete").await;
    alice_page
        .wait_for("document.getElementById('delete-dialog').open && document.activeElement.id === 'delete-cancel'")
        .await;
    axe::check(&alice_page, "the delete confirmation").await;
    alice_page.click("#delete-confirm").await;
    wait_message(
        &alice_page,
        yes,
        "m.deleted === 'This message was deleted' && m.body === null && m.reactions.length === 0 && !m.actions",
    )
    .await;
    react(&alice_page, works, "😂").await;
    edit(&alice_page, meet, "Let's meet at 4:30").await;
    alice_page.click("#message-input").await;
    let late = send_here(&alice_page, "Running late, sorry").await;
    choose(&alice_page, late, "delete").await;
    alice_page.click("#delete-confirm").await;
    wait_message(&alice_page, late, "m.deleted !== null").await;

    // Bob is back: his page reconnects by itself and replays what it missed, in order.
    bob_page.set_offline(false).await;
    bob_page
        .wait_for_within(
            "document.documentElement.dataset.connection === 'open'",
            RECONNECT_WAIT,
        )
        .await;
    let shown = wait_same(&alice_page, &bob_page, question).await;
    let expected = json!([
        {"id": question, "sender": "bob", "body": "Can you check item 3?", "edited": false, "deleted": null, "actions": true,
         "quote": [notes, "bob", "Notes from Monday are in the doc"], "reactions": []},
        {"id": meet, "sender": "alice", "body": "Let's meet at 4:30", "edited": true, "deleted": null, "actions": true,
         "quote": null, "reactions": []},
        {"id": lunch, "sender": "bob", "body": "Lunch first?\nI'm starving", "edited": false, "deleted": null, "actions": true,
         "quote": null, "reactions": []},
        {"id": yes, "sender": "alice", "body": null, "edited": false, "deleted": "This message was deleted", "actions": false,
         "quote": null, "reactions": []},
        {"id": works, "sender": "bob", "body": "3 works for me", "edited": false, "deleted": null, "actions": true,
         "quote": [meet, "alice", "Let's meet at 4:30"], "reactions": ["😂 alice 1"]},
        {"id": late, "sender": "alice", "body": null, "edited": false, "deleted": "This message was deleted", "actions": false,
         "quote": null, "reactions": []},
    ]);
    assert_eq!(shown, expected);
    // The list's preview says the last message was deleted; nothing became unread.
    for (page, peer) in [(&alice_page, "bob"), (&bob_page, "alice")] {
        let row = format!("document.querySelector('#conversations li[data-username={peer}]')");
        page.wait_for(&format!(
            "{row}?.querySelector('.row-preview').textContent === 'This message was deleted' && {row}.dataset.unread === '0'"
        ))
        .await;
    }

    // Screens: Alice's desktop in light, Bob's phone in dark; nothing scrolls sideways.
    for page in [&alice_page, &bob_page] {
        page.eval("document.getElementById('messages').scrollTop = 1e9")
            .await;
        page.wait_for(FITS).await;
    }
    alice_page.screenshot("desktop-lifecycle").await;
    axe::set_color_scheme(&bob_page, "dark").await;
    bob_page.screenshot("phone-lifecycle-dark").await;
    open_menu(&bob_page, works).await;
    bob_page.wait_for(FITS).await;
    bob_page.screenshot("phone-lifecycle-menu-dark").await;
    bob_page.press_escape().await;
    axe::set_color_scheme(&bob_page, "light").await;

    // Alice presses the quote in Bob's question: his notes are a page further back; they are
    // loaded, scrolled to and highlighted.
    assert_eq!(
        alice_page
            .eval(&format!("!!document.querySelector(\"{}\")", msg(notes)))
            .await,
        false
    );
    alice_page.click(&format!("{} .quote", msg(question))).await;
    alice_page
        .wait_for(&format!(
            "document.querySelector(\"{}\")?.classList.contains('flash')",
            msg(notes)
        ))
        .await;
    alice_page
        .wait_for(&format!(
            "(() => {{ const r = document.querySelector(\"{}\").getBoundingClientRect(); \
             const v = document.getElementById('messages').getBoundingClientRect(); \
             return r.top >= v.top && r.bottom <= v.bottom; }})()",
            msg(notes)
        ))
        .await;
    let requests = alice_page.requests();
    for cursor in requests.iter().filter_map(|u| u.split("before_id=").nth(1)) {
        let id = cursor.split('&').next().unwrap_or("");
        assert!(id.parse::<i64>().is_ok(), "before_id={id} is a real id");
    }
    alice_page.assert_clean();
    // Bob's browser logged the refused connections while it was offline; nothing else.
    bob_page.assert_no_uncaught();
}

/// The actions a message's menu offers, in order (its emoji row aside).
const MENU_ACTIONS: &str = "[...document.querySelectorAll('#message-menu [data-action]')].map((i) => i.dataset.action).join()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_reactions_name_everyone_and_the_owner_moderates() {
    let server = TestServer::start().await;
    let alice = ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    let bob = ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    let carol = ApiUser::signup(&server.url, "carol", "Carol Diaz").await;
    let id = alice
        .create_group("crew", "Launch crew", &["bob", "carol"])
        .await["id"]
        .as_i64()
        .unwrap();
    let draft = bob.send_group(id, "draft", "The draft is ready").await["id"]
        .as_i64()
        .unwrap();
    let typo = carol
        .send_group(id, "typo", "There is a typo in the title")
        .await["id"]
        .as_i64()
        .unwrap();

    let browser = Browser::launch().await;
    let alice_page = Page::open(&browser, "alice", Screen::Desktop).await;
    let carol_page = Page::open(&browser, "carol", Screen::Phone).await;
    let path = format!("/messages/groups/{id}/");
    log_in_on_page(&alice_page, &server, "alice", &path).await;
    log_in_on_page(&carol_page, &server, "carol", &path).await;
    for page in [&alice_page, &carol_page] {
        wait_message(page, typo, "m.actions").await;
    }

    // Carol, a plain member, may reply to Bob's message, react to it and report it, not edit or
    // delete it.
    open_menu(&carol_page, draft).await;
    assert_eq!(carol_page.eval(MENU_ACTIONS).await, "reply,report");
    carol_page.wait_for(FITS).await;
    axe::check(
        &carol_page,
        "a group chat on a phone with the actions menu open",
    )
    .await;
    carol_page.click("#message-menu [data-emoji='👍']").await;
    // Alice agrees by pressing the chip; Bob reacts from another device.
    alice_page
        .click(&format!("{} .reaction[data-emoji='👍']", msg(draft)))
        .await;
    for page in [&alice_page, &carol_page] {
        wait_message(page, draft, "m.reactions.join() === '👍 carol,alice 2'").await;
    }
    bob.react(draft, "🙏").await;
    for page in [&alice_page, &carol_page] {
        wait_message(
            page,
            draft,
            "m.reactions.join('|') === '👍 carol,alice 2|🙏 bob 1'",
        )
        .await;
    }
    let thumbs = format!("document.querySelector(\"{} .reaction\")", msg(draft));
    assert_eq!(
        carol_page
            .eval(&format!("{thumbs}.getAttribute('aria-label')"))
            .await,
        "thumbs up, 2: You and Alice Martin"
    );
    assert_eq!(
        alice_page.eval(&format!("{thumbs}.title")).await,
        "Carol Diaz, You"
    );

    // Bob edits his message elsewhere: both pages show it edited, the reactions stay.
    bob.edit(draft, "The draft is ready (v2)").await;
    for page in [&alice_page, &carol_page] {
        wait_message(
            page,
            draft,
            "m.body === 'The draft is ready (v2)' && m.edited && m.reactions.length === 2",
        )
        .await;
    }

    // Alice, the owner, deletes Carol's message: the dialog says she does so as an admin.
    open_menu(&alice_page, typo).await;
    assert_eq!(alice_page.eval(MENU_ACTIONS).await, "reply,delete,report");
    alice_page.click("#message-menu [data-action=delete]").await;
    alice_page
        .wait_for("document.getElementById('delete-text').textContent.includes('as a group admin')")
        .await;
    alice_page.click("#delete-confirm").await;
    for page in [&alice_page, &carol_page] {
        wait_message(
            page,
            typo,
            "m.deleted === 'This message was deleted' && !m.actions",
        )
        .await;
    }
    let shown = wait_same(&alice_page, &carol_page, draft).await;
    assert_eq!(shown.as_array().map(Vec::len), Some(2), "{shown:#}");
    alice_page.screenshot("desktop-lifecycle-group").await;
    axe::set_color_scheme(&carol_page, "dark").await;
    carol_page.screenshot("phone-lifecycle-group-dark").await;
    alice_page.assert_clean();
    carol_page.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_the_window_is_refused_politely() {
    // An edit window of 0 seconds: no message may be edited.
    let server = TestServer::start_with(|config| config.edit_window_secs = 0).await;
    let alice = ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    let sent = alice.send("bob", "old", "See you at 10").await["id"]
        .as_i64()
        .unwrap();
    let browser = Browser::launch().await;
    let page = Page::open(&browser, "alice", Screen::Phone).await;
    log_in_on_page(&page, &server, "alice", "/messages/chat/bob/").await;
    wait_message(&page, sent, "m.actions").await;

    choose(&page, sent, "edit").await;
    page.eval("document.activeElement.select()").await;
    page.insert_text("See you at 11").await;
    page.press_enter(false).await;
    // The server's refusal in words, in the editor, which stays open with the new text.
    let error = format!("document.querySelector(\"{} .editor-error\")", msg(sent));
    page.wait_for(&format!(
        "!{error}?.hidden && {error}.getAttribute('role') === 'alert'"
    ))
    .await;
    assert_eq!(
        page.eval(&format!("{error}.textContent")).await,
        "This message can no longer be edited: messages can only be edited for a short while after they are sent."
    );
    assert_eq!(
        page.eval("document.activeElement.value").await,
        "See you at 11"
    );
    page.wait_for(FITS).await;
    axe::check(&page, "an edit refused in place").await;
    page.screenshot("phone-lifecycle-edit-refused").await;
    // Escape gives up: the message as it was, the focus back on its actions button.
    page.press_escape().await;
    page.wait_for(&format!(
        "document.activeElement === document.querySelector(\"{} .menu-button\")",
        msg(sent)
    ))
    .await;
    wait_message(&page, sent, "m.body === 'See you at 10' && !m.edited").await;
    // The browser logs the refused request itself; nothing else went wrong.
    page.assert_no_uncaught();
    let errors = page.errors();
    assert!(
        errors.len() == 1 && errors[0].contains("403"),
        "only the refusal is logged: {errors:?}"
    );
}
