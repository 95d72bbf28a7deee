-- A strategy with a coding error: on its 10th bar it indexes a nil value.
-- Shows: a failed run with error_code runtime_error and the Lua line of the error (line 12);
-- the fills and snapshots before the error are kept.
-- Expected: failed, runtime_error, line 12.

local seen = 0

function on_data(bar)
    seen = seen + 1
    if seen == 10 then
        local missing = nil
        return missing.value
    end
end
