-- A Lua workload for picobox's tests: strings, tables, os and io; prints only what must match.
local t = {}
for i = 1, 10 do t[#t + 1] = string.format("%02d", i * i) end
print(table.concat(t, ","))
print(string.upper("picobox"), #t, string.rep("ab", 3), ("x=1, y=2"):gsub("%d", "#"))
table.sort(t, function(a, b) return a > b end)
print("sorted:", t[1], t[#t])
local f = assert(io.open("lua-out.txt", "w"))
for i = 1, 100 do f:write(i, "\n") end
f:close()
local sum = 0
for line in io.lines("lua-out.txt") do sum = sum + tonumber(line) end
print("io:", sum)
print("os.time:", os.time() > 0, os.date("!%Y-%m-%d", 0), type(os.clock()))
print("os.rename:", os.rename("lua-out.txt", "lua-moved.txt"), os.remove("lua-moved.txt"))
print("os.getenv PATH set:", os.getenv("PATH") ~= nil)
local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
print("coroutine:", co(), co(), co())
print("pcall:", pcall(error, "boom"))
