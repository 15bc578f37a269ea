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

  ```{.diff diff="stages/01-single-queue/src/proc.c stages/02-gmp/src/proc.c"
      function="findrunnable"}
  ```                         the unified diff of one function (or of the
                              whole files without function=) between stages

  ```{.dot caption="..." name="queue"}
  digraph { ... }
  ```                         a graphviz diagram, drawn at build time

  ![caption](lab:cost/spawn)  a lab's plot: labs/cost/results/spawn.svg

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
directory, where figures go), LABS_DIR (default GORT_ROOT/labs),
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

local function include_block(cb)
  local path = cb.attributes.include
  local text, first, why, last = resolve(path, cb.attributes)
  if not text then
    fail("code reference does not resolve: %s", why)
    return pandoc.CodeBlock("unresolved: " .. why)
  end
  local what = cb.attributes["function"] or cb.attributes.struct or cb.attributes.typedef
  if what and cb.attributes["function"] then what = what .. "()" end
  local classes = { (path:match("%.S$") and "gnuassembler") or (path:match("%.sh$") and "bash")
                    or (path:match("%.md$") and "markdown") or "c", "numberLines" }
  if cb.classes[1] and cb.classes[1] ~= "c" then classes[1] = cb.classes[1] end
  local code = pandoc.CodeBlock(text, pandoc.Attr("", classes, { startFrom = tostring(first) }))
  return pandoc.Div({ caption_para(path, what, first, last), code }, pandoc.Attr("", { "code-include" }))
end

local function diff_block(cb)
  local a, b = cb.attributes.diff:match("^(%S+)%s+(%S+)$")
  if not a then
    fail('diff=%q must name two files, separated by a space', cb.attributes.diff)
    return pandoc.CodeBlock("bad diff reference")
  end
  local texts = {}
  for i, path in ipairs({ a, b }) do
    if cb.attributes["function"] or cb.attributes.struct or cb.attributes.typedef then
      local text, _, why = resolve(path, cb.attributes)
      if not text then
        fail("code reference does not resolve: %s", why)
        return pandoc.CodeBlock("unresolved: " .. why)
      end
      texts[i] = text .. "\n"
    else
      texts[i] = readfile(ROOT .. "/" .. path)
      if not texts[i] then
        fail("code reference does not resolve: no such file %s", path)
        return pandoc.CodeBlock("unresolved")
      end
    end
  end
  local ta, tb = os.tmpname(), os.tmpname()
  writefile(ta, texts[1]); writefile(tb, texts[2])
  local p = io.popen(string.format("diff -u --label %s --label %s %s %s",
    shquote(a), shquote(b), shquote(ta), shquote(tb)))
  local d = p:read("a"); p:close()
  os.remove(ta); os.remove(tb)
  if d == "" then d = "(no difference: " .. a .. " and " .. b .. " agree here)\n" end
  return pandoc.CodeBlock(d, pandoc.Attr("", { "diff" }))
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

local function lab_image(img)
  local name = img.src:match("^lab:([%w_-]+/[%w_-]+)$")
  if not name then
    fail("lab figure %q is not lab:LAB/PLOT", img.src)
    return img
  end
  local lab, plot = name:match("^(.-)/(.*)$")
  local svg = LABS .. "/" .. lab .. "/results/" .. plot .. ".svg"
  local data = readfile(svg)
  if not data then
    local why = "plot " .. name .. " is missing: " .. (os.getenv("LABS_DIR") and svg or
      "labs/" .. lab .. "/results/" .. plot .. ".svg") .. " (make lab LAB=" .. lab .. " draws it)"
    if PLOTS == "require" then
      fail("%s", why)
      return img
    end
    missing_plot(name, why)
    return pandoc.Span({ pandoc.Strong({ pandoc.Str("[plot " .. name .. " not built: run "),
      pandoc.Code("make lab LAB=" .. lab), pandoc.Str(", then "), pandoc.Code("make book"),
      pandoc.Str("]") }) }, pandoc.Attr("", { "missing-plot" }))
  end
  local rel = "fig/lab-" .. lab .. "-" .. plot .. ".svg"
  writefile(OUT .. "/" .. rel, data)
  img.src = rel
  return img
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
    Image = function(img)
      if img.src:match("^lab:") then return lab_image(img) end
    end,
    Div = function(div)
      if div.classes:includes("exercises") then return exercises_div(div) end
    end,
  },
  { Link = fix_link },
  { Pandoc = finish },
}
