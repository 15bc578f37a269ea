--[[
gort.lua: the pandoc filter that keeps the book tied to the code.

The problem. A book that pastes code drifts from it: the day a function
changes, the text quotes a version that no longer exists and nobody
notices. So the chapters never contain code from the stages; they name it,
and this filter fetches it when the book is built. A name that no longer
resolves stops the build, naming the chapter, the file and the symbol.

What a chapter may write (paths are relative to the repository root):

  ```{.c include="stages/01-single-queue/src/proc.c" function="findrunnable"}
  ```                         a C function, from its signature to its
                              closing brace, with the comment right above
                              it (comment="no" drops that comment)
  struct="g", typedef="schedt"   a struct or typedef instead of a function
  lines="120-140"                a line range (checked against the file)
  from="TEXT" to="TEXT"          from the first line containing the first
                                 text through the next line containing the
                                 second (assembly, a header comment); the
                                 source carries no markers for the book
  occurrence="2"                 the 2nd definition of that name (#if arms)

  elide="plumbing"               (with function=) drops the lines that
                                 only feed tracing, metrics and the
                                 sanitizers (trace_*, metrics_*,
                                 san_fiber_* calls, an if around them),
                                 each run marked by a comment; the lines
                                 kept show their own numbers in the file

  ```{.diff diff="stages/01-single-queue/src/proc.c stages/02-gmp/src/proc.c"
      function="findrunnable"}
  ```                         the unified diff of one function (or of the
                              whole files without function=) between
                              stages, coloured by line (removed red,
                              added green), each hunk headed by the
                              lines it covers and its function;
                              beside="new" adds the whole new version

  ```{.dot caption="..." name="queue"}
  digraph { ... }
  ```                         a graphviz diagram, drawn at build time

  ![caption](lab:cost/spawn)  a lab's plot: LABS_DIR/cost/spawn.svg (the
                              shipped reference-results/, by default) or
                              labs/cost/results/spawn.svg (make LABS=run),
                              with a line under it saying when and on what
                              it was measured, and the CPU-speed warning
                              of the run if it had one

  `cost/spawn ns_per_spawn mean series=go goroutines=100000`{.lab}
                              a number from the table that plot is drawn
                              from: TABLE COLUMN AGG (min, max, median,
                              mean, count, pNN) over the rows matching
                              every key=value ("+" for a space in a
                              value); fmt=%.2f and scale=0.001 optional

  `stages/01-single-queue/src/proc.c findrunnable mput(mp);`{.line}
                              "line N": the file's number of the first
                              line of that function containing the text
                              (TEXT #2: the second such line), for
                              walking a listing by its line numbers

  ```{.gomap stage="stages/01-single-queue"}
  src/proc.c: findrunnable | proc.go: findRunnable | what it does
  ```                         a table from gort's functions to Go's; every
                              gort function in it must resolve

  ::: {.exercises stage="01"}
  :::                         the exercises under exercises/01-*/ (each a
                              directory with a README), by their titles,
                              as they are at build time

Links to other chapters are written to the .md file and come out as .html;
other relative links are written from book/ (../stages/...) and are moved
one level down for book/_build/.

Rejected: a preprocessor over the Markdown (sed, m4): it cannot tell a code
block from prose and its errors point nowhere. A ctags index: one more
package, and it cannot give the comment above a function. C is parsed here
just far enough: comments, strings, character constants and preprocessor
lines are blanked out, then braces are counted.

Environment: GORT_ROOT (the repository root), BOOK_OUT (the output
directory, where figures go), LABS_DIR (the Makefile sets it to
book/reference-results unless LABS=run; default GORT_ROOT/labs),
BOOK_PLOTS=require|optional (optional: a missing plot becomes a visible
note, listed in BOOK_OUT/missing-plots.txt, and the build goes on),
BOOK_PAGES (the pages in reading order, for the previous/next links).
Every problem found is printed as "CHAPTER: ..." and the filter exits 1
after the whole chapter has been read, so one run reports them all.
]]

local ROOT = os.getenv("GORT_ROOT") or ".."
local OUT = os.getenv("BOOK_OUT") or "_build"
local LABS = os.getenv("LABS_DIR") or (ROOT .. "/labs")
local PLOTS = os.getenv("BOOK_PLOTS") or "require"
local PAGES = os.getenv("BOOK_PAGES") or ""

local chapter = (PANDOC_STATE.input_files or {})[1] or "(stdin)"
local chapter_base = chapter:match("([^/]+)%.md$") or chapter
local errors = {}

local function fail(fmt, ...)
  errors[#errors + 1] = chapter .. ": " .. string.format(fmt, ...)
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function writefile(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function shquote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function splitlines(s)
  local t = {}
  for l in (s .. (s:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end

---------------------------------------------------------------------------
-- C, read just far enough

-- A copy of src of the same length and line structure in which comments,
-- string and character literals and preprocessor lines are spaces.
local function mask(src)
  local out, i, n = {}, 1, #src
  local at_line_start = true
  while i <= n do
    local c = src:sub(i, i)
    local two = src:sub(i, i + 1)
    if at_line_start and src:match("^[ \t]*#", i) then
      -- a preprocessor line, with its backslash continuations
      local j = i
      while true do
        local e = src:find("\n", j, true) or n + 1
        local line = src:sub(j, e - 1)
        out[#out + 1] = line:gsub("[^\n]", " ")
        if e > n then i = n + 1 break end
        out[#out + 1] = "\n"
        j = e + 1
        if not line:match("\\%s*$") then i = j break end
      end
      at_line_start = true
    elseif two == "/*" then
      local e = src:find("*/", i + 2, true) or n - 1
      out[#out + 1] = src:sub(i, e + 1):gsub("[^\n]", " ")
      i = e + 2
      at_line_start = false
    elseif two == "//" then
      local e = src:find("\n", i, true) or n + 1
      out[#out + 1] = src:sub(i, e - 1):gsub(".", " ")
      i = e
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n do
        local d = src:sub(j, j)
        if d == "\\" then j = j + 2
        elseif d == c or d == "\n" then break
        else j = j + 1 end
      end
      out[#out + 1] = c .. src:sub(i + 1, j - 1):gsub("[^\n]", " ") .. c
      i = j + 1
      at_line_start = false
    else
      out[#out + 1] = c
      if c == "\n" then at_line_start = true
      elseif not c:match("[ \t]") then at_line_start = false end
      i = i + 1
    end
  end
  return table.concat(out)
end

local function line_of(s, pos)
  local _, k = s:sub(1, pos):gsub("\n", "")
  return k + 1
end

-- Brace depth at every position would cost memory; depth before pos is
-- counted on demand (files are a few hundred lines).
local function depth_at(m, pos)
  local d = 0
  for ch in m:sub(1, pos - 1):gmatch("[{}]") do
    d = d + (ch == "{" and 1 or -1)
  end
  return d
end

-- Position of the bracket closing the one opening at pos, or nil.
local function match_close(m, pos, open, close)
  local d = 0
  for k = pos, #m do
    local ch = m:sub(k, k)
    if ch == open then d = d + 1
    elseif ch == close then
      d = d - 1
      if d == 0 then return k end
    end
  end
  return nil
end

-- The first line of the declaration whose name sits on line `ln`: walk up
-- over the return type and qualifiers (`static inline`, an attribute line),
-- stopping at a blank, comment or preprocessor line, or the end of the
-- previous declaration.
local function decl_start(mlines, ln)
  local s = ln
  while s > 1 do
    local prev = mlines[s - 1]
    if prev:match("^%s*$") or prev:match("[;{},]%s*$") then break end
    s = s - 1
  end
  return s
end

-- Extends a start line upwards over the comment directly above it.
local function with_comment(lines, mlines, s)
  local k = s - 1
  if k < 1 or not (lines[k]:match("%*/%s*$") or lines[k]:match("^%s*//")) then return s end
  if not mlines[k]:match("^%s*$") then return s end   -- a trailing comment after code
  while k >= 1 and mlines[k]:match("^%s*$") and lines[k] ~= "" do
    if lines[k]:match("^%s*/%*") or
       (lines[k]:match("^%s*//") and not (k > 1 and lines[k - 1]:match("^%s*//"))) then
      return k
    end
    k = k - 1
  end
  return s
end

local function skip_space_and_attributes(m, p)
  while true do
    local q = m:match("^%s*()", p)
    if m:sub(q, q + 12) == "__attribute__" then
      local open = m:find("(", q, true)
      local close = open and match_close(m, open, "(", ")")
      if not close then return q end
      p = close + 1
    else
      return q
    end
  end
end

-- Every definition of a C function named `name` in src: a list of
-- {first, last} line numbers (declaration start, closing brace).
local function find_functions(src, name)
  local m = mask(src)
  local found = {}
  local pat = "%f[%w_]" .. name:gsub("%p", "%%%0") .. "%f[^%w_]%s*%("
  local pos = 1
  while true do
    local a, b = m:find(pat, pos)
    if not a then break end
    pos = b + 1
    local before = m:sub(1, a - 1):match("(%S)%s*$")
    if before ~= "." and before ~= ">" and depth_at(m, a) == 0 then
      local close = match_close(m, b, "(", ")")
      if close then
        local q = skip_space_and_attributes(m, close + 1)
        if m:sub(q, q) == "{" then
          local e = match_close(m, q, "{", "}")
          if e then
            found[#found + 1] = { line_of(m, a), line_of(m, e) }
          end
        end
      end
    end
  end
  return found, m
end

local function find_structs(src, name)
  local m = mask(src)
  local found = {}
  local pat = "%f[%w_]struct%s+" .. name:gsub("%p", "%%%0") .. "%s*{"
  local pos = 1
  while true do
    local a, b = m:find(pat, pos)
    if not a then break end
    pos = b + 1
    if depth_at(m, a) == 0 then
      local e = match_close(m, b, "{", "}")
      if e then
        local semi = m:find(";", e, true) or e
        found[#found + 1] = { line_of(m, a), line_of(m, semi) }
      end
    end
  end
  return found, m
end

local function find_typedefs(src, name)
  local m = mask(src)
  local found = {}
  local pos = 1
  local escaped = name:gsub("%p", "%%%0")
  while true do
    local a, b = m:find("%f[%w_]typedef%f[^%w_]", pos)
    if not a then break end
    pos = b + 1
    if depth_at(m, a) == 0 then
      -- the ';' ending this declaration, at depth 0 relative to it
      local d, k = 0, b + 1
      while k <= #m do
        local ch = m:sub(k, k)
        if ch == "{" then d = d + 1 elseif ch == "}" then d = d - 1
        elseif ch == ";" and d == 0 then break end
        k = k + 1
      end
      local decl = m:sub(a, k)
      if decl:match("%f[%w_]" .. escaped .. "%s*;$") or
         decl:match("%(%s*%*%s*" .. escaped .. "%s*%)") then
        found[#found + 1] = { line_of(m, a), line_of(m, k) }
        pos = k + 1
      end
    end
  end
  return found, m
end

-- Resolves one code reference. Returns text, first line, or nil and why.
local function resolve(path, attr)
  local src = readfile(ROOT .. "/" .. path)
  if not src then return nil, nil, "no such file " .. path end
  local lines = splitlines(src)
  local kind, name
  for _, k in ipairs({ "function", "struct", "typedef" }) do
    if attr[k] then kind, name = k, attr[k] end
  end
  local first, last
  if kind then
    local finder = ({ ["function"] = find_functions, struct = find_structs,
                      typedef = find_typedefs })[kind]
    local found, m = finder(src, name)
    local occ = tonumber(attr.occurrence or "1")
    if #found == 0 then
      return nil, nil, string.format("%s: no %s %s is defined there", path, kind, name)
    end
    if #found > 1 and not attr.occurrence then
      return nil, nil, string.format("%s: %s %s is defined %d times (lines %s); say which with occurrence=N",
        path, kind, name, #found,
        table.concat((function() local t = {} for _, f in ipairs(found) do t[#t + 1] = f[1] end return t end)(), ", "))
    end
    if not found[occ] then
      return nil, nil, string.format("%s: %s %s has no occurrence %s", path, kind, name, attr.occurrence)
    end
    local mlines = splitlines(m)
    first, last = found[occ][1], found[occ][2]
    first = decl_start(mlines, first)
    if attr.comment ~= "no" then first = with_comment(lines, mlines, first) end
  elseif attr.lines then
    local a, b = attr.lines:match("^(%d+)%-(%d+)$")
    first, last = tonumber(a), tonumber(b)
    if not first or first < 1 or last < first or last > #lines then
      return nil, nil, string.format("%s: lines=%q is not a range inside its %d lines", path, attr.lines, #lines)
    end
  elseif attr.from then
    for k, l in ipairs(lines) do
      if l:find(attr.from, 1, true) then first = k break end
    end
    if not first then return nil, nil, string.format("%s: no line contains from=%q", path, attr.from) end
    local stop = attr.to or attr.from
    for k = first + (attr.to and 0 or 1), #lines do
      if lines[k]:find(stop, 1, true) then last = k break end
    end
    if not last then return nil, nil, string.format("%s: no line after line %d contains to=%q", path, first, stop) end
  else
    return nil, nil, path .. ": say what to include: function=, struct=, typedef=, lines= or from=/to="
  end
  local out = {}
  for k = first, last do out[#out + 1] = lines[k] end
  return table.concat(out, "\n"), first, nil, last
end

---------------------------------------------------------------------------
-- Blocks

local function relhref(path)   -- a repository path, as a link written from book/
  return "../" .. path
end

local function caption_para(path, what, first, last)
  local inl = { pandoc.Link({ pandoc.Code(path) }, relhref(path)) }
  if what then
    inl[#inl + 1] = pandoc.Str(": ")
    inl[#inl + 1] = pandoc.Code(what)
  end
  inl[#inl + 1] = pandoc.Str(first == last and string.format(" (line %d)", first)
                             or string.format(" (lines %d-%d)", first, last))
  return pandoc.Div({ pandoc.Plain(inl) }, pandoc.Attr("", { "code-source" }))
end

-- elide="plumbing": the lines that serve observation, not the mechanism
-- (trace_*, metrics_*, san_fiber_* calls, the tsan_fiber field, an `if`
-- whose body is only such lines), each run of them replaced by one comment
-- line. The listing is cut into pieces at each elision so that every line
-- still shows its number in the file.
local PLUMBING = { "^%s*trace_[%w_]*%(", "^%s*metrics_[%w_]*%(", "^%s*san_fiber_[%w_]*%(",
                   "tsan_fiber%s*=", "^%s*__atomic_store_n%(&mp%->nswitch" }
local function is_plumbing(l)
  for _, pat in ipairs(PLUMBING) do if l:match(pat) then return true end end
  return false
end

-- The line numbers (offsets into lines) to drop, as a set.
local function plumbing_lines(lines)
  local drop = {}
  local k = 1
  while k <= #lines do
    local l = lines[k]
    local cond = l:match("^%s*if%s*%((.*)%)%s*{?%s*$")
    if cond and l:match("{%s*$") then
      -- an if block: dropped when every statement in it is plumbing
      -- (assignments to the plumbing's own bookkeeping allowed when one
      -- plumbing call is there)
      local indent = l:match("^(%s*)")
      local e = k + 1
      while e <= #lines and not lines[e]:match("^" .. indent .. "}") do e = e + 1 end
      local calls, others = 0, 0
      for j = k + 1, e - 1 do
        if is_plumbing(lines[j]) then calls = calls + 1
        elseif lines[j]:match("^%s*[%w_]+%->[%w_]+%s*=%s*0;") and lines[j]:match("since") then
        else others = others + 1 end
      end
      if calls > 0 and others == 0 and e <= #lines then
        for j = k, e do drop[j] = true end
        k = e + 1
      else
        k = k + 1
      end
    elseif cond and not l:match(";%s*$") and lines[k + 1] and is_plumbing(lines[k + 1]) then
      -- a one-statement if: both lines (and the statement's continuations)
      local j = k + 1
      while j <= #lines and not lines[j]:match(";%s*$") do j = j + 1 end
      for x = k, j do drop[x] = true end
      k = j + 1
    elseif is_plumbing(l) then
      local j = k
      while j <= #lines and not lines[j]:match(";%s*$") do j = j + 1 end
      for x = k, j do drop[x] = true end
      k = j + 1
    else
      k = k + 1
    end
  end
  return drop
end

local function include_block(cb)
  local path = cb.attributes.include
  local text, first, why, last = resolve(path, cb.attributes)
  if not text then
    fail("code reference does not resolve: %s", why)
    return pandoc.CodeBlock("unresolved: " .. why)
  end
  local what = cb.attributes["function"] or cb.attributes.struct or cb.attributes.typedef
  if what and cb.attributes["function"] then what = what .. "()" end
  local lang = (path:match("%.S$") and "gnuassembler") or (path:match("%.sh$") and "bash")
               or (path:match("%.md$") and "markdown") or "c"
  if cb.classes[1] and cb.classes[1] ~= "c" then lang = cb.classes[1] end
  local elide = cb.attributes.elide
  if not elide then
    local code = pandoc.CodeBlock(text, pandoc.Attr("", { lang, "numberLines" }, { startFrom = tostring(first) }))
    return pandoc.Div({ caption_para(path, what, first, last), code }, pandoc.Attr("", { "code-include" }))
  end
  if elide ~= "plumbing" then
    fail('elide=%q: the only form is elide="plumbing" (trace_, metrics_, san_fiber_ lines)', elide)
  end
  local lines = splitlines(text)
  local drop = plumbing_lines(lines)
  local blocks, piece, piece_first, ndropped = {}, {}, nil, 0
  local function flush()
    if #piece > 0 then
      blocks[#blocks + 1] = pandoc.CodeBlock(table.concat(piece, "\n"),
        pandoc.Attr("", { lang, "numberLines" }, { startFrom = tostring(piece_first) }))
      piece, piece_first = {}, nil
    end
  end
  local k = 1
  while k <= #lines do
    if drop[k] then
      local j = k
      while drop[j + 1] do j = j + 1 end
      flush()
      ndropped = ndropped + (j - k + 1)
      local indent = lines[k]:match("^(%s*)")
      blocks[#blocks + 1] = pandoc.CodeBlock(indent .. string.format(
        "/* ... tracing, metrics, sanitizer: %s elided ... */",
        j == k and ("line " .. (first + k - 1)) or ("lines " .. (first + k - 1) .. "-" .. (first + j - 1))),
        pandoc.Attr("", { lang, "elided" }))
      k = j + 1
    else
      piece_first = piece_first or (first + k - 1)
      piece[#piece + 1] = lines[k]
      k = k + 1
    end
  end
  flush()
  if ndropped == 0 then
    fail('%s: %s: elide="plumbing" found nothing to elide', path, what or "listing")
  end
  table.insert(blocks, 1, caption_para(path, what, first, last))
  return pandoc.Div(blocks, pandoc.Attr("", { "code-include", "code-elided" }))
end

local function html_escape(t)
  return (t:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- A unified diff as HTML: removed lines red with "-", added lines green with
-- "+", each hunk headed by the lines it covers in each file (the file's own
-- line numbers, also for a one-function diff) and the function it is in.
-- Pandoc's highlighter colours a diff by token, not by line (removed lines
-- came out green, added ones black), so the filter marks the lines itself.
local function diff_html(d, a, b, what, offa, offb)
  local out = {}
  local fn_of_hunk = what
  for l in d:gmatch("([^\n]*)\n") do
    if l:match("^%-%-%- ") or l:match("^%+%+%+ ") then
      out[#out + 1] = '<span class="d-file">' .. html_escape(l) .. '</span>'
    elseif l:match("^@@") then
      local a1, a2, b1, b2, rest = l:match("^@@ %-(%d+),?(%d*) %+(%d+),?(%d*) @@%s?(.*)$")
      if a1 then
        local fa, fb = tonumber(a1) + offa, tonumber(b1) + offb
        local na, nb = tonumber(a2 ~= "" and a2 or "1"), tonumber(b2 ~= "" and b2 or "1")
        local name = rest:match("([%w_]+)%s*%(") or fn_of_hunk
        local head = string.format("@@ %s lines %d-%d, %s lines %d-%d @@", a:match("stages/([^/]+)") or a, fa,
          fa + math.max(na, 1) - 1, b:match("stages/([^/]+)") or b, fb, fb + math.max(nb, 1) - 1)
        out[#out + 1] = '<span class="d-hunk">' .. html_escape(head) ..
          (name and ('  <b>in ' .. html_escape(name) .. '()</b>') or "") .. '</span>'
      else
        out[#out + 1] = '<span class="d-hunk">' .. html_escape(l) .. '</span>'
      end
    elseif l:sub(1, 1) == "-" then
      out[#out + 1] = '<span class="d-del">' .. html_escape(l) .. '</span>'
    elseif l:sub(1, 1) == "+" then
      out[#out + 1] = '<span class="d-add">' .. html_escape(l) .. '</span>'
    else
      out[#out + 1] = '<span class="d-ctx">' .. html_escape(l) .. '</span>'
    end
  end
  -- each line a block of its own: no newline between them (it would show
  -- as an empty line), and copying the text still gives one line per line
  return '<pre class="diff"><code>' .. table.concat(out) .. '</code></pre>'
end

local function diff_block(cb)
  local a, b = cb.attributes.diff:match("^(%S+)%s+(%S+)$")
  if not a then
    fail('diff=%q must name two files, separated by a space', cb.attributes.diff)
    return pandoc.CodeBlock("bad diff reference")
  end
  local what = cb.attributes["function"] or cb.attributes.struct or cb.attributes.typedef
  local texts, firsts, lasts = {}, {}, {}
  for i, path in ipairs({ a, b }) do
    if what then
      local text, first, why, last = resolve(path, cb.attributes)
      if not text then
        fail("code reference does not resolve: %s", why)
        return pandoc.CodeBlock("unresolved: " .. why)
      end
      texts[i], firsts[i], lasts[i] = text .. "\n", first, last
    else
      texts[i] = readfile(ROOT .. "/" .. path)
      firsts[i] = 1
      if not texts[i] then
        fail("code reference does not resolve: no such file %s", path)
        return pandoc.CodeBlock("unresolved")
      end
    end
  end
  local ta, tb = os.tmpname(), os.tmpname()
  writefile(ta, texts[1]); writefile(tb, texts[2])
  -- -F: name each hunk by the last line above it that starts a C definition
  local p = io.popen(string.format("diff -u -F '^[A-Za-z_][A-Za-z_0-9 *]*[ *][A-Za-z_][A-Za-z_0-9]*(' --label %s --label %s %s %s",
    shquote(a), shquote(b), shquote(ta), shquote(tb)))
  local d = p:read("a"); p:close()
  os.remove(ta); os.remove(tb)
  local caption = { pandoc.Str("The diff"), pandoc.Space() }
  if what then
    caption[#caption + 1] = pandoc.Str("of")
    caption[#caption + 1] = pandoc.Space()
    caption[#caption + 1] = pandoc.Code(what .. (cb.attributes["function"] and "()" or ""))
    caption[#caption + 1] = pandoc.Space()
  end
  for _, x in ipairs({ pandoc.Str("from"), pandoc.Space(), pandoc.Link({ pandoc.Code(a) }, relhref(a)),
                       pandoc.Space(), pandoc.Str("to"), pandoc.Space(), pandoc.Link({ pandoc.Code(b) }, relhref(b)),
                       pandoc.Str(": "), pandoc.Str("removed lines red (-), added lines green (+)") }) do
    caption[#caption + 1] = x
  end
  local blocks = { pandoc.Div({ pandoc.Plain(caption) }, pandoc.Attr("", { "code-source" })) }
  if d == "" then
    blocks[#blocks + 1] = pandoc.CodeBlock("(no difference: " .. a .. " and " .. b .. " agree here)")
  else
    blocks[#blocks + 1] = pandoc.RawBlock("html", diff_html(d, a, b, cb.attributes["function"],
      (firsts[1] or 1) - 1, (firsts[2] or 1) - 1))
  end
  if cb.attributes.beside == "new" then
    -- the whole new version beside its diff (side by side on a wide screen)
    local inc = include_block(pandoc.CodeBlock("", pandoc.Attr("", {},
      { include = b, ["function"] = cb.attributes["function"], struct = cb.attributes.struct,
        typedef = cb.attributes.typedef, occurrence = cb.attributes.occurrence,
        elide = cb.attributes.elide })))
    return pandoc.Div({ pandoc.Div(blocks, pandoc.Attr("", { "diff-side" })),
      pandoc.Div({ pandoc.Div({ pandoc.Plain({ pandoc.Str("The new version, whole:") }) },
        pandoc.Attr("", { "code-source" })), inc }, pandoc.Attr("", { "new-side" })) },
      pandoc.Attr("", { "diff-pair" }))
  elseif cb.attributes.beside then
    fail('beside=%q: the only form is beside="new"', cb.attributes.beside)
  end
  return pandoc.Div(blocks, pandoc.Attr("", { "diff-block" }))
end

local figno = 0
-- A diagram with its caption shown under it. Pandoc 2 makes a figure of a
-- lone image in a paragraph only when its title is "fig:" (what the reader
-- gives ![caption](src)); pandoc 3 has a Figure element instead. Without
-- either, the caption is only the image's alt text, and nobody sees it.
local function figure(src, caption, id)
  local attr = pandoc.Attr(id or "", {}, {})
  if pandoc.Figure then
    return pandoc.Figure({ pandoc.Plain({ pandoc.Image(caption, src, "") }) },
      { long = { pandoc.Plain(caption) } }, attr)
  end
  return pandoc.Para({ pandoc.Image(caption, src, "fig:", attr) })
end

local function dot_block(cb)
  figno = figno + 1
  local name = cb.attributes.name or tostring(figno)
  local rel = "fig/" .. chapter_base .. "-" .. name .. ".svg"
  local ok, svg = pcall(pandoc.pipe, "dot", { "-Tsvg" }, cb.text)
  if not ok then
    fail("graphviz could not draw diagram %q: %s", name, tostring(svg))
    return pandoc.CodeBlock(cb.text)
  end
  writefile(OUT .. "/" .. rel, svg)
  local cap = pandoc.read(cb.attributes.caption or "", "markdown").blocks
  local inl = (cap[1] and cap[1].content) or {}
  return figure(rel, inl, "fig-" .. name)
end

local function gomap_block(cb)
  local stage = cb.attributes.stage
  local rows = { "| gort | Go | what it does |", "|---|---|---|" }
  for l in cb.text:gmatch("[^\n]+") do
    local file, fns, gocell, note = l:match("^%s*([^:|]+):%s*([^|]-)%s*|%s*([^|]-)%s*|%s*(.-)%s*$")
    if not file then
      fail("gomap line is not 'FILE: FUNCTION[, FUNCTION] | GO FILE: FUNCTION | NOTE': %s", l)
    else
      local path = stage .. "/" .. file
      local src = readfile(ROOT .. "/" .. path)
      local cells = {}
      if not src then
        fail("gomap: no such file %s", path)
      else
        for fn in fns:gmatch("[%w_]+") do
          local found = find_functions(src, fn)
          if #found == 0 and path:match("%.S$") and
             (("\n" .. src):find("\n" .. fn .. ":", 1, true)) then
            found = { { 0, 0 } }   -- an assembly label
          end
          if #found == 0 then
            found = find_structs(src, fn)
            if #found == 0 then found = find_typedefs(src, fn) end
          end
          if #found == 0 then
            fail("code reference does not resolve: %s: no function %s is defined there (gomap)", path, fn)
          end
          cells[#cells + 1] = "`" .. fn .. "`"
        end
      end
      rows[#rows + 1] = string.format("| [`%s`](%s): %s | %s | %s |", file, relhref(path),
        table.concat(cells, ", "), gocell, note)
    end
  end
  return pandoc.read(table.concat(rows, "\n"), "markdown").blocks
end

local function missing_plot(name, why)
  local f = io.open(OUT .. "/missing-plots.txt", "a")
  f:write(chapter .. ": " .. name .. ": " .. why .. "\n")
  f:close()
end

-- Where a lab's results are: LABS_DIR/LAB/results/ (the labs' own layout,
-- labs/NAME/results/) or LABS_DIR/LAB/ (book/reference-results/NAME/, the
-- shipped results, which `make book` uses unless told LABS=run).
local function lab_dir(lab)
  local d = LABS .. "/" .. lab .. "/results"
  if exists(d .. "/cpuspeed.txt") or exists(d .. "/STAMP") or
     io.open(d .. "/.") then return d end
  return LABS .. "/" .. lab
end

-- The line under a lab's plot: when and on what its results were measured
-- (STAMP, written by tools/reference.sh), and the CPU-speed warning of
-- labs/run.sh when one CPU ran below 0.9 of another's speed during the run.
local function lab_stamp(lab)
  local dir = lab_dir(lab)
  local inl = {}
  local stamp = readfile(dir .. "/STAMP")
  local speed = readfile(dir .. "/cpuspeed.txt")
  local function add(t) for _, x in ipairs(pandoc.read(t, "markdown").blocks[1].content) do inl[#inl + 1] = x end end
  if stamp then
    local when = stamp:match("measured:%s*([^\n]+)") or "?"
    local cpu = stamp:match("cpu:%s*([^\n]+)") or "?"
    local load = stamp:match("load:%s*([^\n]+)") or "?"
    local go = stamp:match("go:%s*([^\n]+)") or "?"
    add(string.format("Reference results, measured %s on %s (load average %s; %s); `make book LABS=run` redraws it on your machine.",
      when, cpu, load, go))
  else
    add("Drawn from this machine's own run of the lab (`" .. dir:gsub("^.*/labs/", "labs/") .. "`).")
  end
  local warned = false
  if speed then
    for l in speed:gmatch("[^\n]+") do
      local r = tonumber(l:match("(%S+)%s*$"))
      if r and r < 0.9 then warned = true end
    end
  end
  if warned then
    inl[#inl + 1] = pandoc.Space()
    inl[#inl + 1] = pandoc.Strong({ pandoc.Str("CPU-speed warning:") })
    inl[#inl + 1] = pandoc.Space()
    add(" during this run one CPU ran at under 0.9 of another's speed (`cpuspeed.txt`: " ..
      speed:gsub("\n+$", ""):gsub("\n", "; ") .. "), so its points at `GOMAXPROCS` > 1 measured the host as much as the runtime.")
  end
  return pandoc.Div({ pandoc.Plain(inl) }, pandoc.Attr("", { warned and "plot-stamp plot-warning" or "plot-stamp" }))
end

local stamps_wanted = {}   -- lab figures seen in the current block, in order

local function lab_image(img)
  local name = img.src:match("^lab:([%w_-]+/[%w_-]+)$")
  if not name then
    fail("lab figure %q is not lab:LAB/PLOT", img.src)
    return img
  end
  local lab, plot = name:match("^(.-)/(.*)$")
  local svg = lab_dir(lab) .. "/" .. plot .. ".svg"
  local data = readfile(svg)
  if not data then
    local why = "plot " .. name .. " is missing: " .. svg:gsub("^" .. ROOT:gsub("%p", "%%%0") .. "/", "") ..
      " (make lab LAB=" .. lab .. " draws it)"
    if PLOTS == "require" then
      fail("%s", why)
      return img
    end
    missing_plot(name, why)
    return pandoc.Span({ pandoc.Strong({ pandoc.Str("[plot " .. name .. " not built: run "),
      pandoc.Code("make lab LAB=" .. lab), pandoc.Str(", then "), pandoc.Code("make book LABS=run"),
      pandoc.Str("]") }) }, pandoc.Attr("", { "missing-plot" }))
  end
  local rel = "fig/lab-" .. lab .. "-" .. plot .. ".svg"
  writefile(OUT .. "/" .. rel, data)
  img.src = rel
  stamps_wanted[#stamps_wanted + 1] = lab
  return img
end

-- A paragraph that holds a lab figure gets the figure's stamp under it.
local function para_with_stamp(para)
  stamps_wanted = {}
  local new = pandoc.walk_block(para, { Image = function(img)
    if img.src:match("^lab:") then return lab_image(img) end
  end })
  if #stamps_wanted == 0 then return nil end
  local out = { new }
  for _, lab in ipairs(stamps_wanted) do out[#out + 1] = lab_stamp(lab) end
  stamps_wanted = {}
  return out
end

-- `LAB/TABLE COLUMN AGG [key=value...] [fmt=%.1f] [scale=0.001]`{.lab}: a
-- value computed from LAB's TABLE.tsv, the table its plots are drawn from,
-- so that the text and the plot beside it come from the same run. AGG:
-- min, max, median, mean, count, or pNN (a percentile, nearest rank); the
-- key=value pairs keep only the rows whose column key holds value (write a
-- space in value as "+": config=P=1,+async+preemption,+spinner+never+yields).
local tsv_cache = {}
local function read_tsv(path)
  if tsv_cache[path] ~= nil then return tsv_cache[path] end
  local s = readfile(path)
  if not s then tsv_cache[path] = false return false end
  local rows, header = {}, nil
  for l in s:gmatch("[^\n]+") do
    local cells = {}
    for c in (l .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = c end
    if not header then header = cells
    else
      local r = {}
      for i, h in ipairs(header) do r[h] = cells[i] end
      rows[#rows + 1] = r
    end
  end
  tsv_cache[path] = { header = header, rows = rows }
  return tsv_cache[path]
end

local function commas(s)
  local int, rest = s:match("^(%-?%d+)(.*)$")
  if not int or #int <= 3 then return s end
  local out = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""):gsub("^%-,", "-")
  return out .. rest
end

local function lab_value(code)
  local toks = {}
  for t in code.text:gmatch("%S+") do toks[#toks + 1] = t end
  local lab, tab = (toks[1] or ""):match("^([%w_-]+)/([%w_-]+)$")
  local col, agg = toks[2], toks[3]
  if not lab or not col or not agg then
    fail("lab value %q is not `LAB/TABLE COLUMN AGG [key=value...]`", code.text)
    return pandoc.Str("??")
  end
  local filters, fmt, scale = {}, nil, 1
  for i = 4, #toks do
    local k, v = toks[i]:match("^([%w_]+)=(.*)$")
    if not k then fail("lab value %q: %q is not key=value", code.text, toks[i])
    elseif k == "fmt" then fmt = v
    elseif k == "scale" then scale = tonumber(v) or 1
    else filters[#filters + 1] = { k, (v:gsub("%+", " ")) } end   -- "+" stands for a space
  end
  local path = lab_dir(lab) .. "/" .. tab .. ".tsv"
  local t = read_tsv(path)
  if not t then
    if PLOTS == "require" then fail("lab value %q: no table %s", code.text, path) end
    return pandoc.Span({ pandoc.Str("[" .. lab .. "/" .. tab .. ".tsv not built]") }, pandoc.Attr("", { "missing-plot" }))
  end
  local vals = {}
  for _, r in ipairs(t.rows) do
    local ok = true
    for _, f in ipairs(filters) do
      if r[f[1]] == nil then ok = false; fail("lab value %q: %s has no column %s", code.text, tab, f[1]) break end
      if r[f[1]] ~= f[2] then ok = false break end
    end
    if ok then
      if r[col] == nil then fail("lab value %q: %s has no column %s", code.text, tab, col) return pandoc.Str("??") end
      vals[#vals + 1] = tonumber(r[col])
    end
  end
  if #vals == 0 then
    fail("lab value %q: no row of %s matches", code.text, path)
    return pandoc.Str("??")
  end
  table.sort(vals)
  local v
  if agg == "min" then v = vals[1]
  elseif agg == "max" then v = vals[#vals]
  elseif agg == "count" then v = #vals
  elseif agg == "mean" then v = 0 for _, x in ipairs(vals) do v = v + x end v = v / #vals
  elseif agg == "median" then v = vals[math.floor((#vals + 1) / 2)]
  elseif agg:match("^p%d+$") then
    local q = tonumber(agg:sub(2)) / 100
    v = vals[math.max(1, math.ceil(q * #vals))]
  else
    fail("lab value %q: AGG %q is not min, max, median, mean, count or pNN", code.text, agg)
    return pandoc.Str("??")
  end
  v = v * scale
  local text
  if fmt then text = string.format(fmt, v)
  elseif v == math.floor(v) and math.abs(v) < 1e15 then text = string.format("%d", math.floor(v))
  elseif math.abs(v) >= 100 then text = string.format("%.0f", v)
  elseif math.abs(v) >= 10 then text = string.format("%.1f", v)
  else text = string.format("%.2f", v) end
  return pandoc.Span({ pandoc.Str(commas(text)) }, pandoc.Attr("", { "lab-value" },
    { title = "from " .. lab .. "/" .. tab .. ".tsv: " .. code.text }))
end

-- [](#){.line file="PATH" function="NAME" has="TEXT"}, or the shorter
-- `PATH NAME TEXT...`{.line}: "line N", N the file's number of the first
-- line of that function holding TEXT, so a walk through a listing names
-- lines that move when the code does.
local function line_ref(code)
  local path, fn, text = code.text:match("^(%S+)%s+(%S+)%s+(.+)$")
  if not path then
    fail("line reference %q is not `PATH FUNCTION TEXT`", code.text)
    return pandoc.Str("line ??")
  end
  local src, first, why, last = resolve(path, { ["function"] = fn, comment = "no" })
  if not src then
    fail("code reference does not resolve: %s", why)
    return pandoc.Str("line ??")
  end
  local nth = 1
  local t2, n2 = text:match("^(.-)%s+#(%d+)$")   -- "TEXT #2": its 2nd line
  if t2 then text, nth = t2, tonumber(n2) end
  local seen = 0
  for k, l in ipairs(splitlines(src)) do
    if l:find(text, 1, true) then
      seen = seen + 1
      if seen == nth then return pandoc.Str("line " .. (first + k - 1)) end
    end
  end
  fail("line reference: %s: %s() has no line containing %q", path, fn, text)
  return pandoc.Str("line ??")
end

-- The exercises of a stage: exercises/NN-*/NAME/ (one directory per
-- exercise; exercises/NN-*/ itself when it holds the README), each shown
-- by the first "# " line of its README and the paragraph after it.
local function exercises_div(div)
  local stage = div.attributes.stage or ""
  if not stage:match("^%d%d$") then
    fail("exercises div needs stage=\"NN\", got %q", stage)
    return div
  end
  local p = io.popen("cd " .. shquote(ROOT) .. " && for d in exercises/" .. stage ..
    "-*/; do [ -d \"$d\" ] || continue; if [ -f \"$d/README.md\" ]; then echo \"${d%/}\"; " ..
    "else for e in \"$d\"*/; do [ -f \"$e/README.md\" ] || [ -f \"$e/Makefile\" ] && echo \"${e%/}\"; done; fi; done")
  local dirs = {}
  for d in p:lines() do dirs[#dirs + 1] = d end
  p:close()
  table.sort(dirs)
  local items = {}
  for _, d in ipairs(dirs) do
    local readme = readfile(ROOT .. "/" .. d .. "/README.md")
    local title = readme and (readme:match("^#%s+([^\n]+)") or readme:match("\n#%s+([^\n]+)"))
    local inl
    if title then
      inl = { pandoc.Link({ pandoc.Code(d) }, relhref(d .. "/README.md")), pandoc.Str(": "),
              pandoc.Strong(pandoc.read(title, "markdown").blocks[1].content) }
    else
      inl = { pandoc.Code(d), pandoc.Str(readme and " (its README has no '# title' line)"
                                          or " (its README is not written yet)") }
    end
    local blocks = { pandoc.Plain(inl) }
    -- the whole first paragraph after the title (READMEs are hard-wrapped:
    -- one line of it would stop mid-sentence), as a paragraph of its own
    local body = readme and readme:gsub("^#[^\n]*\n", "")
    local para = body and (body:match("^%s*([^\n#`|].-)\n[ \t]*\n") or body:match("^%s*([^\n#`|].-)%s*$"))
    if para then
      local pb = pandoc.read(para, "markdown").blocks[1]
      if pb and pb.content then blocks[#blocks + 1] = pandoc.Para(pb.content) end
    end
    items[#items + 1] = blocks
  end
  if #items == 0 then
    return pandoc.Div({ pandoc.Para({ pandoc.Str("No exercise for this stage is written yet (exercises/"
      .. stage .. "-*/ holds none).") }) }, div.attr)
  end
  local intro = pandoc.Para({ pandoc.Str(string.format("The %d exercise%s in ", #items, #items == 1 and "" or "s")),
    pandoc.Code("exercises/" .. stage .. "-*/"),
    pandoc.Str(" as they stand, each with its README, starter code and graded tests:") })
  return pandoc.Div({ intro, pandoc.BulletList(items) }, div.attr)
end

---------------------------------------------------------------------------
-- Links and navigation

local book_dir = chapter:match("^(.*)/[^/]+$") or "."

local function fix_link(el)
  local t = el.target
  if t:match("^%a[%w+.-]*:") or t:match("^#") or t == "" then return nil end
  local page, anchor = t:match("^([%w_-]+)%.md(#?.*)$")
  if page and (" " .. PAGES .. " "):find(" " .. page .. " ", 1, true) then
    el.target = page .. ".html" .. anchor
    return el
  end
  if page and not exists(book_dir .. "/" .. page .. ".md") then
    fail("link to %s: no such page book/%s.md", t, page)
    return nil
  end
  el.target = "../" .. t
  return el
end

local function title_of(page)
  local s = readfile(book_dir .. "/" .. page .. ".md") or ""
  return s:match("\ntitle:%s*\"?([^\n\"]+)") or s:match("^%-%-%-%s*\ntitle:%s*\"?([^\n\"]+)") or page
end

local function navigation(meta)
  local pages = {}
  for p in PAGES:gmatch("%S+") do pages[#pages + 1] = p end
  for k, p in ipairs(pages) do
    if p == chapter_base then
      if pages[k - 1] then
        meta.prev = pandoc.MetaMap({ href = pandoc.MetaString(pages[k - 1] .. ".html"),
          title = pandoc.MetaString(title_of(pages[k - 1])) })
      end
      if pages[k + 1] then
        meta.next = pandoc.MetaMap({ href = pandoc.MetaString(pages[k + 1] .. ".html"),
          title = pandoc.MetaString(title_of(pages[k + 1])) })
      end
    end
  end
  return meta
end

local function finish(doc)
  if #errors > 0 then
    for _, e in ipairs(errors) do io.stderr:write(e, "\n") end
    os.exit(1)
  end
  doc.meta = navigation(doc.meta)
  return doc
end

return {
  {
    CodeBlock = function(cb)
      if cb.attributes.include then return include_block(cb) end
      if cb.attributes.diff then return diff_block(cb) end
      if cb.classes:includes("dot") then return dot_block(cb) end
      if cb.classes:includes("gomap") then return gomap_block(cb) end
    end,
    Para = para_with_stamp,
    Plain = function(pl)   -- a lab figure in a list or table: no stamp line
      return pandoc.walk_block(pl, { Image = function(img)
        if img.src:match("^lab:") then return lab_image(img) end
      end })
    end,
    Code = function(c)
      if c.classes:includes("lab") then return lab_value(c) end
      if c.classes:includes("line") then return line_ref(c) end
    end,
    Div = function(div)
      if div.classes:includes("exercises") then return exercises_div(div) end
    end,
  },
  { Link = fix_link },
  { Pandoc = finish },
}
