"""The DAW bridge: the OSC address space and listener, the context follower, and the AbletonOSC
and Ableton Link adapters. The DAW-side scripts (REAPER, Bitwig) live in the repository's
``plugin_bridge/`` folder with the address-space README."""
