// Drives Tally's remote control with obs-websocket's own JavaScript client,
// as a Stream Deck plugin or a chat bot would. cmd_remote_test.go runs it and
// reads what it prints: one JSON object a line.
import OBSWebSocket from 'obs-websocket-js/json';
import OBSWebSocketMsgPack from 'obs-websocket-js';

const url = process.env.TALLY_REMOTE_URL;
const password = process.env.TALLY_REMOTE_PASSWORD;
const log = (o) => console.log(JSON.stringify({ t: Date.now(), ...o }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const guard = setTimeout(() => { log({ error: 'timed out' }); process.exit(2); }, 90_000);

const obs = new OBSWebSocket();
const seen = [];
const waiters = [];
for (const type of ['StreamStateChanged', 'RecordStateChanged', 'CurrentProgramSceneChanged',
  'InputMuteStateChanged', 'InputVolumeChanged']) {
  obs.on(type, (data) => {
    log({ event: type, data });
    seen.push({ type, data });
    for (const w of waiters.splice(0)) if (!w(type, data)) waiters.push(w);
  });
}
// waitEvent resolves on the first event of a type that ok accepts, seen
// before the call or after.
function waitEvent(type, ok) {
  const i = seen.findIndex((e) => e.type === type && ok(e.data));
  if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0].data);
  return new Promise((resolve) => waiters.push((t, d) => {
    if (t !== type || !ok(d)) return false;
    resolve(d);
    return true;
  }));
}

try {
  // Under Node the client asks for MessagePack unless told otherwise; Tally
  // speaks JSON only and says so with UnsupportedFeature.
  try {
    await new OBSWebSocketMsgPack().connect(url, password);
    log({ error: 'a MessagePack client was accepted' });
  } catch (e) {
    log({ msgpack: e.code });
  }
  // A wrong password is refused with AuthenticationFailed.
  const wrong = new OBSWebSocket();
  try {
    await wrong.connect(url, password + 'x');
    log({ error: 'a wrong password was accepted' });
  } catch (e) {
    log({ wrongPassword: e.code });
  }

  const hello = await obs.connect(url, password, { rpcVersion: 1 });
  log({ connected: hello });
  log({ version: await obs.call('GetVersion') });
  const scenes = await obs.call('GetSceneList');
  log({ scenes });
  log({ inputs: await obs.call('GetInputList') });

  await obs.call('SetInputMute', { inputName: 'Tone', inputMuted: true });
  await waitEvent('InputMuteStateChanged', (d) => d.inputName === 'Tone' && d.inputMuted === true);
  log({ muted: await obs.call('GetInputMute', { inputName: 'Tone' }) });
  // A stream starts with the last second the program mixed (its audio
  // pre-roll): let the mute reach all of it.
  await sleep(2000);

  await obs.call('StartStream');
  await waitEvent('StreamStateChanged', (d) => d.outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED');
  log({ started: await obs.call('GetStreamStatus') });
  await sleep(3000);

  await obs.call('SetCurrentProgramScene', { sceneName: 'Blue' });
  await waitEvent('CurrentProgramSceneChanged', (d) => d.sceneName === 'Blue');
  log({ switched: await obs.call('GetCurrentProgramScene') });
  await sleep(3000);

  await obs.call('StopStream');
  await waitEvent('StreamStateChanged', (d) => d.outputState === 'OBS_WEBSOCKET_OUTPUT_STOPPED');
  log({ stopped: await obs.call('GetStreamStatus') });

  try {
    await obs.call('GetHotkeyList');
    log({ error: 'an unknown request succeeded' });
  } catch (e) {
    log({ unknownRequest: e.code });
  }
  log({ batch: await obs.callBatch([{ requestType: 'GetVersion' }, { requestType: 'GetCurrentProgramScene' }]) });
  await obs.disconnect();
  log({ done: true });
  clearTimeout(guard);
} catch (e) {
  log({ error: String(e), code: e.code });
  process.exit(1);
}
