-- @description SampleMind Companion: send tempo, transport, time signature and key over OSC
-- @about
--   Runs in the background (a reaper.defer loop) and sends the project's context to
--   SampleMind Companion on UDP 127.0.0.1:9137 whenever it changes:
--     /context/bpm f       Master_GetTempo()                       (BPM)
--     /context/playing i   GetPlayState() & 1                      (0/1)
--     /time/signature s    TimeMap_GetTimeSigAtTime() at the play/edit position ("4/4")
--     /context/key s       the latest marker or region named "key:Am" at or before the
--                          play/edit position, else a "key: Am" line in the project notes
--   REAPER has no project key, hence the marker convention.
--   Needs LuaSocket for REAPER: ReaPack package "mavriq-lua-sockets"
--   (repository https://github.com/mavriq-dev/public-reascripts/raw/master/index.xml).
--   Run it again (or terminate it in the "running scripts" dialog) to stop.

local HOST = "127.0.0.1"   -- where SampleMind Companion listens
local PORT = 9137          -- its OSC port (Settings: RECS_OSC_PORT)
local KEY_SCAN_S = 0.25    -- how often markers are scanned for "key:…", seconds
local RESEND_S = 5.0       -- full state is re-sent this often (the companion may restart)

local script_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
package.path = script_dir .. "?.lua;" .. package.path
local osc = require("companion_osc")

local sockets_dir = reaper.GetResourcePath() .. "/Scripts/Mavriq ReaScript Repository/Various/Mavriq-Lua-Sockets/"
local ext = reaper.GetOS():match("Win") and "dll" or "so"
package.cpath = package.cpath .. ";" .. sockets_dir .. "?." .. ext
package.path = package.path .. ";" .. sockets_dir .. "?.lua"
local ok, socket = pcall(require, "socket.core")
if not ok then
  reaper.ShowMessageBox(
    "SampleMind Companion needs LuaSocket for REAPER.\n\n" ..
    "Extensions > ReaPack > Import repositories: https://github.com/mavriq-dev/public-reascripts/raw/master/index.xml\n" ..
    "then install \"mavriq-lua-sockets\" and run this script again.\n\n" ..
    "Without it, tempo and transport still reach the companion through REAPER's OSC control " ..
    "surface with SampleMindCompanion.ReaperOSC (see plugin_bridge/README.md); only the key needs this script.",
    "SampleMind Companion", 0)
  return
end

local udp = socket.udp()
udp:setpeername(HOST, PORT)

local _, _, section, command = reaper.get_action_context()
reaper.SetToggleCommandState(section, command, 1)
reaper.RefreshToolbar2(section, command)

local sent = {}
local key, last_key_scan, last_full = nil, -math.huge, -math.huge

local function position()
  if reaper.GetPlayState() & 1 == 1 then return reaper.GetPlayPosition() end
  return reaper.GetCursorPosition()
end

local function scan_key(pos)
  local markers = {}
  local _, num_markers, num_regions = reaper.CountProjectMarkers(0)
  for i = 0, num_markers + num_regions - 1 do
    local _, _, mpos, _, name = reaper.EnumProjectMarkers3(0, i)
    markers[#markers + 1] = { pos = mpos, name = name }
  end
  return osc.key_at(markers, pos, reaper.GetSetProjectNotes(0, false, ""))
end

local function tick()
  local now_s = reaper.time_precise()
  local pos = position()
  if now_s - last_key_scan >= KEY_SCAN_S then
    key, last_key_scan = scan_key(pos), now_s
  end
  local num, den = reaper.TimeMap_GetTimeSigAtTime(0, pos)
  local now = {
    bpm = reaper.Master_GetTempo(),
    playing = reaper.GetPlayState() & 1 == 1,
    key = key,
    timesig = string.format("%d/%d", num, den),
  }
  if now_s - last_full >= RESEND_S then sent, last_full = {}, now_s end
  local messages = osc.changes(sent, now)
  if #messages > 0 then
    udp:send(osc.bundle(messages))  -- UDP: a missing companion is not an error
    sent = now
  end
  reaper.defer(tick)
end

reaper.atexit(function()
  udp:close()
  reaper.SetToggleCommandState(section, command, 0)
  reaper.RefreshToolbar2(section, command)
end)

tick()
