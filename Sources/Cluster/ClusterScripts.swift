import COpenSSL

/// The Lua scripts that make leases and fencing atomic in Redis. Each runs as one step in Redis's
/// single thread, so "check the fence, then write" cannot be split by another node's write.
/// Loaded with SCRIPT LOAD on every (re)connect and called by SHA (EVALSHA).
public enum ClusterScripts {
    /// KEYS: lease, fence. ARGV: node, boot, ttl ms.
    /// Free, or held by an earlier life of this node (it knows it no longer runs the room): a new
    /// token, the lease, `{1, token}`. Held by another node — or by this very life of this node,
    /// which runs the room already (a second grant would fence the owner it just made) —
    /// `{0, holder}`.
    public static let acquire = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local node, boot = string.match(current, '^(.*)|(.*)|%d+$')
          if node ~= ARGV[1] or boot == ARGV[2] then return {0, current} end
        end
        local token = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2] .. '|' .. token, 'PX', ARGV[3])
        return {1, tostring(token)}
        """

    /// KEYS: lease, fence. ARGV: holder, ttl ms, token. Renews only while the token is the fence
    /// (nobody took over); re-creates a key that expired meanwhile if nobody did.
    public static let renew = """
        if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
        local current = redis.call('GET', KEYS[1])
        if current and current ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """

    /// KEYS: lease. ARGV: holder.
    public static let release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    /// KEYS: fence, state, rooms set. ARGV: token, snapshot JSON, room.
    public static let saveRoom = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('SADD', KEYS[3], ARGV[3])
        return 1
        """

    /// KEYS: fence, state, rooms set, the owner's rooms set. ARGV: token, snapshot JSON, room,
    /// the owner's room limit (0: none). A new room: refused (`TOO_MANY_ROOMS`) when its owner
    /// already has the limit, checked and recorded in one step so parallel creations on several
    /// nodes cannot pass it together.
    public static let createRoom = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        if redis.call('EXISTS', KEYS[2]) == 0 then
          local limit = tonumber(ARGV[4])
          if limit > 0 and redis.call('SCARD', KEYS[4]) >= limit then return redis.error_reply('TOO_MANY_ROOMS') end
        end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('SADD', KEYS[3], ARGV[3])
        redis.call('SADD', KEYS[4], ARGV[3])
        return 1
        """

    /// KEYS: fence, orders, outbox, outbox seq, active rooms. ARGV: token, order JSON, the
    /// webhook event JSON without its seq ('' without a webhook), room, '1' when the room must
    /// keep an owner (an unpaid order's deadline, or an event to deliver). The order and its
    /// event are stored in one step: an event exists exactly when its order does.
    public static let recordOrder = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        local n = redis.call('RPUSH', KEYS[2], ARGV[2])
        if ARGV[3] and ARGV[3] ~= '' then
          local seq = redis.call('INCR', KEYS[4])
          redis.call('RPUSH', KEYS[3], '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2))
        end
        if ARGV[5] == '1' then redis.call('SADD', KEYS[5], ARGV[4]) end
        return n
        """

    /// KEYS: fence, order states, outbox, outbox seq, active rooms. ARGV: token, order id, state
    /// JSON, event JSON without its seq (or ''), room. An order changes state once (paid and
    /// cancelled are final): a second change is refused (NOT_ACCEPTED), with its event.
    public static let updateOrder = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return redis.error_reply('NOT_ACCEPTED') end
        if ARGV[4] ~= '' then
          local seq = redis.call('INCR', KEYS[4])
          redis.call('RPUSH', KEYS[3], '{"seq":' .. seq .. ',' .. string.sub(ARGV[4], 2))
          redis.call('SADD', KEYS[5], ARGV[5])
        end
        return 1
        """

    /// KEYS: outbox, parked, parked rooms. ARGV: seq, '1' to park it (else it was delivered),
    /// room. Takes the event out of the outbox (near its head: replays go in front); not fenced —
    /// whoever delivered it, the shop has it.
    public static let outboxDone = """
        local prefix = '{"seq":' .. ARGV[1] .. ','
        for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, 63)) do
          if string.sub(item, 1, #prefix) == prefix then
            redis.call('LREM', KEYS[1], 1, item)
            if ARGV[2] == '1' then
              redis.call('RPUSH', KEYS[2], item)
              redis.call('SADD', KEYS[3], ARGV[3])
            end
            return 1
          end
        end
        return 0
        """

    /// KEYS: parked, outbox, parked rooms, active rooms. ARGV: room, event id ('' for all).
    /// Parked events go back to the front of the outbox, oldest first; the count moved.
    public static let replay = """
        local items = redis.call('LRANGE', KEYS[1], 0, -1)
        local moved = 0
        for i = #items, 1, -1 do
          if ARGV[2] == '' or string.find(items[i], '"event":"' .. ARGV[2] .. '"', 1, true) then
            redis.call('LPUSH', KEYS[2], items[i])
            redis.call('LREM', KEYS[1], 1, items[i])
            moved = moved + 1
          end
        end
        if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
        if moved > 0 then redis.call('SADD', KEYS[4], ARGV[1]) end
        return moved
        """

    /// KEYS: outbox, active rooms. ARGV: room. A room given up idle (no unpaid order) no longer
    /// needs an owner once its outbox is empty.
    public static let retire = """
        if redis.call('LLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
        return 0
        """

    /// KEYS: fence. ARGV: token, channel, payload. Only the current owner announces.
    public static let publish = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        return redis.call('PUBLISH', ARGV[2], ARGV[3])
        """

    /// KEYS: fence, history. ARGV: token, channel, payload, comment JSON, history size.
    /// A shown comment enters the room's history and is announced in one step.
    public static let comment = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
        redis.call('RPUSH', KEYS[2], ARGV[4])
        redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
        return redis.call('PUBLISH', ARGV[2], ARGV[3])
        """

    /// KEYS: state, orders, history, epoch, fence, order states. ARGV: a new epoch (kept only if
    /// none exists), token. What a new owner rebuilds the room from, read in one step after its grant.
    public static let load = """
        if redis.call('GET', KEYS[5]) ~= ARGV[2] then return redis.error_reply('FENCED') end
        redis.call('SET', KEYS[4], ARGV[1], 'NX')
        local states = {}
        if KEYS[6] then states = redis.call('HGETALL', KEYS[6]) end
        return {redis.call('GET', KEYS[1]) or '', redis.call('LRANGE', KEYS[2], 0, -1), redis.call('LRANGE', KEYS[3], 0, -1),
          redis.call('GET', KEYS[4]), states}
        """

    public static let all = [
        acquire, renew, release, saveRoom, createRoom, recordOrder, updateOrder, outboxDone, replay, retire, publish, comment, load,
    ]

    /// The SHA-1 Redis names a script by (hex), for EVALSHA.
    public static func sha1(_ script: String) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        let bytes = Array(script.utf8)
        _ = SHA1(bytes, bytes.count, &digest)
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
