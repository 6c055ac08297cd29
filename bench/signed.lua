-- wrk script: POSTs pre-signed bodies, one per request, cycling through the file given after
-- `--` (lines of "signature<TAB>body"). Signatures are computed beforehand by bench/data.py
-- because wrk's Lua has no HMAC; every body is distinct (its own event GUID).
local requests = {}
local count = 0
local next_one = 0

function init(args)
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\t]*)\t(.*)$")
    count = count + 1
    requests[count] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["Toast-Signature"] = signature,
    }, body)
  end
end

function request()
  next_one = next_one % count + 1
  return requests[next_one]
end
