// The conversation list and chat pages (direct and group): one live socket per tab, its stored
// events applied to the model (`store.js`, which the list and the open chat render from), acks
// to the outbox, receipts, typing and presence to their owners; the "New group" and "Message
// info" dialogs. Edits, deletes and reactions (`message_updated`, `reaction`) go to the model
// like messages do, whether they come live or replayed after a reconnect.

import { api, goToLogin, resumeRequests, stopRequests } from './api.js';
import { ChatView } from './chat.js';
import { ConversationList } from './conversations.js';
import { byId, pageData } from './dom.js';
import { paintAvatar, usesTwelveHourClock } from './format.js';
import { GroupView } from './group.js';
import { MessageInfo } from './info.js';
import { NewGroupDialog } from './newgroup.js';
import { Outbox } from './outbox.js';
import { Receipts } from './receipts.js';
import { BlockMenu } from './safety.js';
import { LiveSocket } from './socket.js';
import { ConversationStore, toMe } from './store.js';
import { TypingWatcher } from './typing.js';

const page = pageData();
const connection = byId('connection');
let connectionTimer = 0;

for (const avatar of document.querySelectorAll('[data-avatar]')) paintAvatar(avatar, avatar.dataset.avatar);
document.documentElement.classList.toggle('clock12', usesTwelveHourClock());

const socket = new LiveSocket({ cursor: page.cursor, onFrame, onState });
const store = new ConversationStore({
  me: page.me,
  meName: page.meName,
  openPeer: page.peer,
  openPeerName: page.peerName,
  openGroup: page.group,
  looking: () => Receipts.looking(),
});
const typing = new TypingWatcher((user, _active, conversationId) => {
  list.onTyping(user);
  if (conversationId ? conversationId === page.group : user === page.peer) chat?.paintStatus();
});
const open = Boolean(page.peer || page.group);
const receipts = new Receipts({ socket, root: open ? byId('messages') : undefined });
const outbox = new Outbox({ socket, me: page.me, onFailed: (entry) => chat?.onFailed(entry) });
const list = new ConversationList({ store, typing, baseTitle: document.title });
new NewGroupDialog({ store });
const info = new MessageInfo({ store, messageOf: (id) => chat?.messages.message(id) ?? null });
const shared = { store, maxBody: page.maxBody, socket, outbox, receipts, typing, onInfo: (id) => info.open(id) };
let chat = null;
let group = null;
if (page.group) {
  group = new GroupView({
    ...shared,
    id: page.group,
    title: page.groupTitle,
    onTitle: (title) => {
      list.baseTitle = `${title} · LinkUp`;
      list.render();
    },
  });
  chat = group.chat;
} else if (page.peer) {
  chat = new ChatView({ ...shared, target: { to: page.peer }, name: page.peerName });
  new BlockMenu({ peer: page.peer, peerName: page.peerName });
}

let presenceRefreshed = false;

function onMessage(message) {
  if (message.sender === page.me) outbox.acknowledged(message.client_id);
  // The list and the open chat hear of it from the model.
  store.applyMessage(message);
  if (chat && message.conversation_id === store.openId) {
    // Presence is shared between people who have a conversation, and sent when a socket
    // opens: a chat that just began learns the other's presence by reopening once.
    if (!chat.group && message.seq === 1 && !chat.presence && !presenceRefreshed) {
      presenceRefreshed = true;
      setTimeout(() => socket.reopen(), 300);
    }
  } else if (toMe(message, page.me)) {
    receipts.track(message);
  }
}

function onFrame(frame) {
  switch (frame.type) {
    case 'message':
      onMessage(frame.message);
      break;
    case 'ack':
      onMessage(frame.message);
      break;
    case 'message_updated':
      store.applyUpdate(frame.message);
      break;
    case 'reaction':
      store.applyReaction(frame);
      break;
    case 'status':
      store.applyStatus(frame);
      if (frame.by === page.me) receipts.update(frame.message_ids ?? [], frame.status);
      break;
    case 'typing':
      typing.signal(frame.from, frame.active, frame.conversation_id ?? null);
      break;
    case 'presence':
      chat?.onPresence(frame);
      break;
    case 'error':
      if (frame.client_id) outbox.refused(frame);
      break;
    default:
      break;
  }
}

function onState(state, detail) {
  clearTimeout(connectionTimer);
  document.documentElement.dataset.connection = state;
  if (state === 'open') {
    connection.hidden = true;
    outbox.flush(true);
    receipts.reconnected();
    store.scheduleRefresh();
    return;
  }
  // Presence and typing are only known while connected; the server repeats them on reconnect.
  typing.clearAll();
  chat?.forgetPresence();
  if (state === 'ended') {
    goToLogin();
    return;
  }
  if (state === 'waiting') {
    // A blip shorter than a second is not worth a banner.
    const seconds = Math.max(1, Math.round(detail.delayMs / 1000));
    const show = () => {
      connection.textContent = `Not connected. Retrying in ${seconds} s…`;
      connection.hidden = false;
    };
    if (detail.failures > 1) show();
    else connectionTimer = setTimeout(show, 1_000);
    // A socket refused again and again may mean the session is over: ask.
    if (detail.failures % 3 === 0) {
      api('/api/me').catch((error) => {
        if (error.status === 401) goToLogin();
      });
    }
  }
}

byId('logout').addEventListener('click', async () => {
  socket.stop();
  stopRequests();
  try {
    await api('/api/auth/logout', { method: 'POST', final: true });
  } catch (error) {
    if (error.status !== 401) {
      resumeRequests();
      socket.resume();
      return;
    }
  }
  location.assign('/login');
});

await Promise.all([store.refresh(), group ? group.load() : chat?.load()]);
socket.connect();
