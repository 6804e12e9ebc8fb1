-- wrk script: POSTs one prepared infer body (bench/http/wrk_bench.sh writes it)
-- to PATH on every request. With a third argument, the body is binary tensor
-- data and that is its Inference-Header-Content-Length.
--   wrk -s bench/http/infer.lua URL -- BODY_FILE PATH [JSON_BYTES]
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.path = args[2]
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  if args[3] then wrk.headers["Inference-Header-Content-Length"] = args[3] end
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("non-200 answer: " .. status .. " " .. body .. "\n")
    wrk.thread:stop()
  end
end
