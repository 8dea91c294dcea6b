using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// One shard's part of a board (docs/architecture.md, "Board entries"), with its bucket counts. One pipelined round
/// trip: the board entries (<c>HGETALL</c>), the online index's size and its members already due (few: the janitor
/// settles them), the last-seen window with scores, and the available index. Online at the read's instant is an
/// entry with status online that is not due. The size check shows every online user has an entry; when it does not
/// hold (entries of an older deployment not yet written, or a transition between the two replies) the shard's
/// online range is read instead, and users listed without an entry get the per-field hashes.
/// </summary>
internal sealed class BoardShard
{
    private BoardShard(List<PresenceEntry> entries, int online, int recent, int available)
    {
        Entries = entries;
        Online = online;
        Recent = recent;
        Available = available;
    }

    /// <summary>The shard's listed users, in no particular order.</summary>
    public List<PresenceEntry> Entries { get; }

    public int Online { get; }

    public int Recent { get; }

    public int Available { get; }

    public static async Task<BoardShard> ReadAsync(IDatabase db, PresenceKeys keys, Role role, int shard, PresenceReader.Windows window)
    {
        // Issued together (one pipelined round trip), the size of the online index right after the entries.
        var boardTask = db.HashGetAllAsync(keys.Board(role, shard));
        var onlineSizeTask = db.SortedSetLengthAsync(keys.Online(role, shard));
        var dueTask = db.SortedSetRangeByScoreAsync(keys.Online(role, shard), double.NegativeInfinity, window.NowMs);
        var seenTask = db.SortedSetRangeByScoreWithScoresAsync(keys.LastSeen(role, shard), window.RecentFromMs, double.PositiveInfinity, Exclude.Start);
        var availableTask = db.SortedSetRangeByScoreAsync(keys.Available(role, shard), window.NowMs, double.PositiveInfinity, Exclude.Start);
        var cards = new BoardCards(await boardTask.ConfigureAwait(false));
        var seen = await seenTask.ConfigureAwait(false);
        var due = ToIds(await dueTask.ConfigureAwait(false));
        var available = ToIds(await availableTask.ConfigureAwait(false));

        // Only when the entries do not cover the online index: the online range, one more round trip.
        HashSet<string>? onlineRange = null;
        if (cards.OnlineCount != await onlineSizeTask.ConfigureAwait(false))
        {
            onlineRange = ToIds(await db.SortedSetRangeByScoreAsync(
                keys.Online(role, shard), window.NowMs, double.PositiveInfinity, Exclude.Start).ConfigureAwait(false));
        }

        var builder = new Builder(cards, due, available, onlineRange, window, seen.Length + available.Count);
        Span<char> chars = stackalloc char[UserId.MaxLength];
        foreach (var e in seen)
        {
            builder.Add(builder.Id(e.Element, chars), e.Score, inWindow: true);
        }

        builder.AddOnlineOutsideWindow();
        var older = builder.AvailableOutsideWindow();

        // What the entries cannot answer: the last activity of available users outside the window, then (only for
        // users listed without an entry) the per-field hashes.
        if (older.Length > 0)
        {
            var olderScores = await db.SortedSetScoresAsync(keys.LastSeen(role, shard), older).ConfigureAwait(false);
            for (var i = 0; i < older.Length; i++)
            {
                builder.Add(older[i].ToString(), olderScores[i], inWindow: false);
            }
        }

        var missing = builder.WithoutCard();
        if (missing.Count > 0)
        {
            var missingCards = await Cards.ReadAsync(db, keys, role, shard, [.. missing.Select(p => (RedisValue)builder.Entries[p].Id)]).ConfigureAwait(false);
            for (var i = 0; i < missing.Count; i++)
            {
                builder.Entries[missing[i]] = missingCards.Apply(i, builder.Entries[missing[i]]);
            }
        }

        return new BoardShard(builder.Entries, builder.OnlineCount, builder.RecentCount, builder.AvailableCount);
    }

    private static HashSet<string> ToIds(RedisValue[] members)
    {
        var ids = new HashSet<string>(members.Length, StringComparer.Ordinal);
        foreach (var m in members)
        {
            ids.Add(m.ToString());
        }

        return ids;
    }

    /// <summary>Makes the shard's entries: each listed user once, bucketed at the read's instant.</summary>
    private sealed class Builder(
        BoardCards cards, HashSet<string> due, HashSet<string> available, HashSet<string>? onlineRange, PresenceReader.Windows window, int capacity)
    {
        private readonly HashSet<string> _listed = new(capacity, StringComparer.Ordinal);
        private readonly List<int> _withoutCard = [];

        public List<PresenceEntry> Entries { get; } = new(capacity);

        public int OnlineCount { get; private set; }

        public int RecentCount { get; private set; }

        public int AvailableCount { get; private set; }

        /// <summary>The id of a member: the entry's string when the user has one (no new string), else a new one.</summary>
        public string Id(RedisValue member, Span<char> chars)
        {
            ReadOnlyMemory<byte> bytes = member;
            if (bytes.Length <= chars.Length && Encoding.UTF8.TryGetChars(bytes.Span, chars, out var length)
                && cards.TryGetId(chars[..length], out var id))
            {
                return id;
            }

            return member.ToString();
        }

        public void Add(string id, double? lastSeen, bool inWindow)
        {
            if (!_listed.Add(id))
            {
                return;
            }

            var isAvailable = available.Contains(id);
            var status = IsOnline(id) ? PresenceStatus.Online
                : inWindow ? PresenceStatus.Recent
                : PresenceStatus.Available;
            var entry = window.Entry(id, status, isAvailable, lastSeen);
            if (cards.TryGet(id, out var card))
            {
                entry = card.Apply(entry);
            }
            else
            {
                _withoutCard.Add(Entries.Count);
            }

            Entries.Add(entry);
            if (status == PresenceStatus.Online)
            {
                OnlineCount++;
            }
            else if (status == PresenceStatus.Recent)
            {
                RecentCount++;
            }
            else
            {
                AvailableCount++;
            }
        }

        /// <summary>Online users without a last activity in the window (none while every online user has beaten within it).</summary>
        public void AddOnlineOutsideWindow()
        {
            if (onlineRange is not null)
            {
                foreach (var id in onlineRange)
                {
                    Add(id, null, inWindow: false);
                }

                return;
            }

            foreach (var id in cards.OnlineIds())
            {
                if (!due.Contains(id))
                {
                    Add(id, null, inWindow: false);
                }
            }
        }

        /// <summary>Available users neither online nor in the window: their last activity is read next.</summary>
        public RedisValue[] AvailableOutsideWindow() => [.. available.Where(id => !_listed.Contains(id)).Select(id => (RedisValue)id)];

        public List<int> WithoutCard() => _withoutCard;

        private bool IsOnline(string id) =>
            onlineRange?.Contains(id) ?? (cards.IsOnline(id) && !due.Contains(id));
    }
}

/// <summary>
/// The board entries of one shard, parsed from their compact form <c>ver|status|until|specialties</c> (status
/// <c>o</c>, <c>r</c> or <c>f</c>; written by the presence script, docs/architecture.md, "Board entries").
/// </summary>
internal sealed class BoardCards
{
    private readonly Dictionary<string, Card> _byId;
    private readonly Dictionary<string, Card>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public BoardCards(HashEntry[] entries)
    {
        _byId = new Dictionary<string, Card>(entries.Length, StringComparer.Ordinal);
        _bySpan = _byId.GetAlternateLookup<ReadOnlySpan<char>>();
        // Therapists share a few combinations of specialties: one list per combination, not one per entry.
        var specialties = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (Card.TryParse(e.Value, specialties, out var card))
            {
                _byId[e.Name.ToString()] = card;
                OnlineCount += card.Status == (byte)'o' ? 1 : 0;
            }
        }
    }

    /// <summary>How many entries say online: equal to the online index's size when every online user has one.</summary>
    public int OnlineCount { get; }

    public bool TryGetId(ReadOnlySpan<char> id, out string found)
    {
        if (_bySpan.TryGetValue(id, out found!, out _))
        {
            return true;
        }

        found = string.Empty;
        return false;
    }

    public bool TryGet(string id, out Card card) => _byId.TryGetValue(id, out card);

    public bool IsOnline(string id) => _byId.TryGetValue(id, out var card) && card.Status == (byte)'o';

    public IEnumerable<string> OnlineIds() => _byId.Where(p => p.Value.Status == (byte)'o').Select(p => p.Key);

    internal readonly record struct Card(long Ver, byte Status, long Until, string[] Specialties)
    {
        public PresenceEntry Apply(PresenceEntry entry) => entry with
        {
            Specialties = Specialties,
            AvailableUntil = entry.Available && Until > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(Until) : null,
            Ver = Ver,
        };

        public static bool TryParse(RedisValue value, Dictionary<string, string[]> specialties, out Card card)
        {
            card = default;
            ReadOnlyMemory<byte> memory = value;
            var rest = memory.Span;
            if (!Field(ref rest, out var ver) || !Utf8Parser.TryParse(ver, out long version, out _)
                || !Field(ref rest, out var status) || status.Length != 1
                || !Field(ref rest, out var until))
            {
                return false;
            }

            long untilMs = 0;
            if (!until.IsEmpty && !Utf8Parser.TryParse(until, out untilMs, out _))
            {
                return false;
            }

            string[] list = [];
            if (!rest.IsEmpty)
            {
                var csv = Encoding.UTF8.GetString(rest);
                if (!specialties.TryGetValue(csv, out list!))
                {
                    list = csv.Split(',');
                    specialties[csv] = list;
                }
            }

            card = new Card(version, status[0], untilMs, list);
            return true;
        }

        private static bool Field(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
        {
            var bar = rest.IndexOf((byte)'|');
            if (bar < 0)
            {
                field = default;
                return false;
            }

            field = rest[..bar];
            rest = rest[(bar + 1)..];
            return true;
        }
    }
}
