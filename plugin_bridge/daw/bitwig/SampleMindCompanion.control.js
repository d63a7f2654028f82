// SampleMind Companion — Bitwig Studio controller script.
//
// Sends the transport's tempo, play state and time signature to SampleMind Companion over OSC
// (UDP, default 127.0.0.1:9137) whenever they change, using Bitwig's own OSC module
// (host.getOscModule(), Controller API 12+):
//   /context/bpm f        transport tempo, BPM
//   /context/playing i    1 while playing, 0 when stopped
//   /time/signature s     "4/4"
// Bitwig has no project key; set the key in the companion (or send /context/key yourself).
//
// Install: copy this file to  ~/Documents/Bitwig Studio/Controller Scripts/SampleMind/
// (Windows: %USERPROFILE%\Documents\Bitwig Studio\Controller Scripts\SampleMind\),
// then Settings > Controllers > Add Controller > SampleMind > "SampleMind Companion".
// Host and port are in the controller's preferences (re-enable the controller after a change).

loadAPI(12);

host.defineController(
  "SampleMind", "SampleMind Companion", "1.0", "6f1c2b0e-6a3d-4c8e-9a51-5d0c7e3b9f21", "SampleMind"
);
host.defineMidiPorts(0, 0);

var connection = null;
var sent = {};
var state = { bpm: null, playing: null, numerator: null, denominator: null };

function send(address, value) {
  if (connection === null || sent[address] === value) {
    return;
  }
  try {
    connection.sendMessage(address, value);
    sent[address] = value;
  } catch (e) {
    // UDP to a companion that is not running: try again on the next change
    println("SampleMind Companion: cannot send " + address + ": " + e);
  }
}

function sendTimeSignature() {
  if (state.numerator !== null && state.denominator !== null) {
    send("/time/signature", state.numerator + "/" + state.denominator);
  }
}

function init() {
  var prefs = host.getPreferences();
  var hostSetting = prefs.getStringSetting("Host", "SampleMind Companion", 64, "127.0.0.1");
  var portSetting = prefs.getNumberSetting("Port", "SampleMind Companion", 1, 65535, 1, "", 9137);
  var companionHost = hostSetting.get();
  var companionPort = Math.round(portSetting.getRaw());

  var osc = host.getOscModule();
  connection = osc.connectToUdpServer(companionHost, companionPort, osc.createAddressSpace());

  var transport = host.createTransport();
  transport.tempo().value().addRawValueObserver(function (bpm) {
    state.bpm = Math.round(bpm * 100) / 100;
    send("/context/bpm", state.bpm);
  });
  transport.isPlaying().addValueObserver(function (playing) {
    state.playing = playing ? 1 : 0;
    send("/context/playing", state.playing);
  });
  transport.timeSignature().numerator().addValueObserver(function (n) {
    state.numerator = n;
    sendTimeSignature();
  });
  transport.timeSignature().denominator().addValueObserver(function (d) {
    state.denominator = d;
    sendTimeSignature();
  });
  println("SampleMind Companion: sending tempo and transport to " + companionHost + ":" + companionPort);
}

function flush() {}

function exit() {
  connection = null;
}
