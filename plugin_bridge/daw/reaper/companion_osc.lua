-- companion_osc.lua — OSC encoding and session-context logic for SampleMind Companion.
--
-- Pure Lua 5.3+/5.4 (uses string.pack), no REAPER API: the REAPER script
-- "SampleMind_Companion_context.lua" loads it, and the companion's tests run it with a plain
-- Lua interpreter. Wire format: OSC 1.0 (https://opensoundcontrol.stanford.edu/spec-1_0.html):
-- big-endian int32/float32, strings NUL-terminated and padded to 4 bytes, bundles
-- "#bundle" + 64-bit timetag (1 = immediately) + size-prefixed elements.

local M = {}

--- OSC string: NUL-terminated, padded with NULs to a multiple of 4 bytes.
local function osc_string(s)
  s = s .. "\0"
  return s .. string.rep("\0", (4 - #s % 4) % 4)
end
M.osc_string = osc_string

--- One OSC message. `types` is a type-tag string such as "f", "s", "i", "ss".
function M.message(address, types, ...)
  local args = table.pack(...)
  local out = { osc_string(address), osc_string("," .. types) }
  for i = 1, #types do
    local t, v = types:sub(i, i), args[i]
    if t == "f" then
      out[#out + 1] = string.pack(">f", v)
    elseif t == "i" then
      out[#out + 1] = string.pack(">i4", math.tointeger(v) or math.floor(v + 0.5))
    elseif t == "s" then
      out[#out + 1] = osc_string(tostring(v))
    elseif t ~= "T" and t ~= "F" and t ~= "N" then
      error("unsupported OSC type tag '" .. t .. "'")
    end
  end
  return table.concat(out)
end

--- A bundle (timetag "immediately") of encoded messages; the companion applies it atomically.
function M.bundle(messages)
  local out = { osc_string("#bundle"), string.pack(">I4I4", 0, 1) }
  for _, m in ipairs(messages) do
    out[#out + 1] = string.pack(">i4", #m) .. m
  end
  return table.concat(out)
end

--- The key written in a marker or region name by the project convention "key:Am"
--- (also "key=A minor", "Key: 8A"); nil when the name holds no key.
function M.key_from_name(name)
  if type(name) ~= "string" then return nil end
  local key = name:match("^%s*[Kk][Ee][Yy]%s*[:=]%s*(.-)%s*$")
  if key == nil or key == "" then return nil end
  return key
end

--- The key in force at `pos` (s): the latest "key:…" marker at or before `pos`.
--- `markers` is a list of { pos = seconds, name = string }. Falls back to the first
--- "key: …" line of `notes` (the project notes), then nil.
function M.key_at(markers, pos, notes)
  local best, best_pos = nil, -math.huge
  for _, m in ipairs(markers) do
    local key = M.key_from_name(m.name)
    if key ~= nil and m.pos <= pos + 1e-9 and m.pos >= best_pos then
      best, best_pos = key, m.pos
    end
  end
  if best == nil and type(notes) == "string" then
    for line in notes:gmatch("[^\r\n]+") do
      best = M.key_from_name(line)
      if best ~= nil then break end
    end
  end
  return best
end

--- The messages that bring the companion from `sent` (what it already has) to `now`.
--- Both are tables { bpm = number, playing = boolean, key = string|nil, timesig = "4/4" }.
--- Tempo changes smaller than 0.01 BPM are not sent. Returns a list of encoded messages.
function M.changes(sent, now)
  local out = {}
  if now.bpm ~= nil and (sent.bpm == nil or math.abs(now.bpm - sent.bpm) >= 0.01) then
    out[#out + 1] = M.message("/context/bpm", "f", now.bpm)
  end
  if now.playing ~= nil and now.playing ~= sent.playing then
    out[#out + 1] = M.message("/context/playing", "i", now.playing and 1 or 0)
  end
  if now.key ~= nil and now.key ~= sent.key then
    out[#out + 1] = M.message("/context/key", "s", now.key)
  end
  if now.timesig ~= nil and now.timesig ~= sent.timesig then
    out[#out + 1] = M.message("/time/signature", "s", now.timesig)
  end
  return out
end

return M
