-- A small crud-compatible module for the tests: the real tarantool/crud
-- can't be installed here.  It implements the calls greenpool's crud_*
-- methods make, on the local instance, with crud's reply shapes:
-- result = {metadata = {{name=, type=}, ...}, rows = {...}}, err = nil or
-- {err = "...", class_name = "..."}; the *_many functions return a list
-- of errors.  Load it with `crud = dofile(path)`.

local crud = {}

local function metadata(space)
    local out = {}
    for _, f in ipairs(space:format()) do
        table.insert(out, {name = f.name, type = f.type})
    end
    return out
end

local function fail(class_name, message)
    return nil, {err = message, class_name = class_name, str = class_name .. ': ' .. message}
end

local function space_of(name)
    local space = box.space[name]
    if space == nil then
        return nil, select(2, fail('SpaceNotFoundError',
                                   'Space "' .. tostring(name) .. '" doesn\'t exist'))
    end
    return space
end

local function object_to_tuple(space, object)
    local tuple = {}
    for i, f in ipairs(space:format()) do
        tuple[i] = object[f.name]
        if tuple[i] == nil then tuple[i] = box.NULL end
    end
    return tuple
end

local function result(space, rows)
    return {metadata = metadata(space), rows = rows}
end

local calls = 0

local function one(fn, class_name)
    return function(space_name, ...)
        calls = calls + 1
        local space, err = space_of(space_name)
        if space == nil then return nil, err end
        local ok, res = pcall(fn, space, ...)
        if not ok then
            local msg = type(res) == 'table' and res.message or tostring(res)
            return nil, {err = msg, class_name = class_name}
        end
        if res == nil then return result(space, {}) end
        return result(space, {res})
    end
end

crud.insert = one(function(s, t) return s:insert(t) end, 'InsertError')
crud.insert_object = one(function(s, o) return s:insert(object_to_tuple(s, o)) end, 'InsertError')
crud.replace = one(function(s, t) return s:replace(t) end, 'ReplaceError')
crud.replace_object = one(function(s, o) return s:replace(object_to_tuple(s, o)) end,
                          'ReplaceError')
crud.get = one(function(s, key) return s:get(key) end, 'GetError')
crud.delete = one(function(s, key) return s:delete(key) end, 'DeleteError')
crud.update = one(function(s, key, ops) return s:update(key, ops) end, 'UpdateError')
crud.upsert = one(function(s, t, ops) s:upsert(t, ops) return nil end, 'UpsertError')
crud.upsert_object = one(function(s, o, ops) s:upsert(object_to_tuple(s, o), ops) return nil end,
                         'UpsertError')
crud.min = one(function(s, index) return s.index[index]:min() end, 'MinError')
crud.max = one(function(s, index) return s.index[index]:max() end, 'MaxError')

local function many(fn, class_name)
    return function(space_name, items)
        local space = box.space[space_name]
        if space == nil then
            return nil, {{err = 'Space "' .. tostring(space_name) .. '" doesn\'t exist',
                          class_name = 'SpaceNotFoundError'}}
        end
        local rows, errs = {}, {}
        for _, item in ipairs(items) do
            local ok, res = pcall(fn, space, item)
            if ok then
                if res ~= nil then table.insert(rows, res) end
            else
                local msg = type(res) == 'table' and res.message or tostring(res)
                table.insert(errs, {err = msg, class_name = class_name})
            end
        end
        local out = nil
        if #rows > 0 or #errs == 0 then out = result(space, rows) end
        if #errs > 0 then return out, errs end
        return out
    end
end

crud.insert_many = many(function(s, t) return s:insert(t) end, 'InsertManyError')
crud.insert_object_many = many(function(s, o) return s:insert(object_to_tuple(s, o)) end,
                               'InsertManyError')
crud.replace_many = many(function(s, t) return s:replace(t) end, 'ReplaceManyError')
crud.replace_object_many = many(function(s, o) return s:replace(object_to_tuple(s, o)) end,
                                'ReplaceManyError')
crud.upsert_many = many(function(s, pair) s:upsert(pair[1], pair[2]) return nil end,
                        'UpsertManyError')
crud.upsert_object_many = many(function(s, pair)
    s:upsert(object_to_tuple(s, pair[1]), pair[2]) return nil end, 'UpsertManyError')

local ops = {['=='] = 'EQ', ['='] = 'EQ', ['>'] = 'GT', ['>='] = 'GE', ['<'] = 'LT',
             ['<='] = 'LE'}

local function matching(space, conditions)
    -- Only the primary key: {{op, field_or_index_name, value}, ...}; the first
    -- condition picks the iterator, the others filter.
    local iterator, key = 'ALL', nil
    if conditions[1] ~= nil then
        iterator, key = ops[conditions[1][1]], conditions[1][3]
    end
    local rows = {}
    for _, t in space:pairs(key, {iterator = iterator}) do
        table.insert(rows, t)
    end
    return rows
end

crud.select = function(space_name, conditions, opts)
    local space = box.space[space_name]
    if space == nil then
        return nil, {err = 'Space "' .. tostring(space_name) .. '" doesn\'t exist',
                     class_name = 'SelectError'}
    end
    local rows = matching(space, conditions or {})
    if opts ~= nil and opts.first ~= nil then
        local cut = {}
        for i = 1, math.min(opts.first, #rows) do cut[i] = rows[i] end
        rows = cut
    end
    return result(space, rows)
end

crud.count = function(space_name, conditions)
    local space = box.space[space_name]
    if space == nil then return nil, {err = 'no space', class_name = 'CountError'} end
    return #matching(space, conditions or {})
end

crud.len = function(space_name)
    local space = box.space[space_name]
    if space == nil then return nil, {err = 'no space', class_name = 'LenError'} end
    return space:len()
end

crud.truncate = function(space_name)
    local space = box.space[space_name]
    if space == nil then return nil, {err = 'no space', class_name = 'TruncateError'} end
    space:truncate()
    return true
end

crud.storage_info = function()
    return {[box.info.uuid] = {status = 'running', is_master = not box.info.ro}}
end

crud.stats = function(space_name)
    if space_name ~= nil and box.space[space_name] == nil then return {} end
    return {calls = calls}
end

return crud
