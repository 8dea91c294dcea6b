using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// One shard's part of a board (docs/architecture.md, "Board entries"), with its bucket counts. One pipelined round
/// trip: the board entries (<c>HVALS</c>: each value holds its id), the online index's size and its members already due (few: the janitor
/// settles them), the last-seen window with scores, and the available index. Online at the read's instant is an
/// entry with status online that is not due. The size check shows every online user has an entry; when it does not
/// hold (entries of an older deployment not yet written, or a transition between the two replies) the shard's
/// online range is read instead, and users listed without an entry get the per-field hashes.
/// </summary>
internal sealed class BoardShard
{
    private BoardShard(EntryBuffer entries, int online, int recent, int available)
    {
        Entries = entries;
        Online = online;
        Recent = recent;
        Available = available;
    }

    /// <summary>The shard's listed users, in no particular order; the reader copies them out, then returns the buffer.</summary>
    public EntryBuffer Entries { get; }

    public int Online { get; }

    public int Recent { get; }

    public int Available { get; }

    public static async Task<BoardShard> ReadAsync(IDatabase db, PresenceKeys keys, PresenceRole role, int shard, PresenceReader.Windows window)
    {
        // Issued together (one pipelined round trip), the size of the online index right after the entries.
        var boardTask = db.HashValuesAsync(keys.Board(role, shard));
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
            var card = cards.Find(e.Element, chars);
            builder.Add(card < 0 ? e.Element.ToString() : cards.Id(card), card, e.Score, inWindow: true);
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
                var id = older[i].ToString();
                builder.Add(id, cards.Find(id), olderScores[i], inWindow: false);
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
        // Users with an entry are marked by position; the few without one by id.
        private readonly bool[] _listedCards = new bool[cards.Count];
        private readonly HashSet<string> _listedOthers = new(StringComparer.Ordinal);
        private readonly List<int> _withoutCard = [];

        public EntryBuffer Entries { get; } = new(capacity);

        public int OnlineCount { get; private set; }

        public int RecentCount { get; private set; }

        public int AvailableCount { get; private set; }

        /// <summary>Lists a user once: <paramref name="card"/> is its entry's position, or −1 when it has none.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(string id, int card, double? lastSeen, bool inWindow)
        {
            if (!MarkListed(id, card))
            {
                return;
            }

            var online = onlineRange?.Contains(id) ?? (card >= 0 && cards.IsOnline(card) && !due.Contains(id));
            var status = online ? PresenceStatus.Online : inWindow ? PresenceStatus.Recent : PresenceStatus.Available;
            var entry = window.Entry(id, status, available.Contains(id), lastSeen);
            if (card >= 0)
            {
                entry = cards.Apply(card, entry);
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
                    Add(id, cards.Find(id), null, inWindow: false);
                }

                return;
            }

            for (var card = 0; card < cards.Count; card++)
            {
                if (!_listedCards[card] && cards.IsOnline(card) && !due.Contains(cards.Id(card)))
                {
                    Add(cards.Id(card), card, null, inWindow: false);
                }
            }
        }

        /// <summary>Available users neither online nor in the window: their last activity is read next.</summary>
        public RedisValue[] AvailableOutsideWindow() =>
            [.. available.Where(id => !IsListed(id, cards.Find(id))).Select(id => (RedisValue)id)];

        public List<int> WithoutCard() => _withoutCard;

        private bool IsListed(string id, int card) => card >= 0 ? _listedCards[card] : _listedOthers.Contains(id);

        private bool MarkListed(string id, int card)
        {
            if (card < 0)
            {
                return _listedOthers.Add(id);
            }

            if (_listedCards[card])
            {
                return false;
            }

            _listedCards[card] = true;
            return true;
        }
    }
}

/// <summary>
/// A shard's entries in an array from the shared pool (docs/architecture.md, "Readers over shards"): every read of a
/// board used to allocate each shard's list of entries only to copy it into the board (at 100k therapists, sixteen
/// 600 KB arrays per read on the large object heap). <see cref="Return"/> clears what was written, so a pooled array
/// keeps no user's id or specialties alive.
/// </summary>
internal sealed class EntryBuffer(int capacity)
{
    private PresenceEntry[] _items = ArrayPool<PresenceEntry>.Shared.Rent(Math.Max(1, capacity));

    public int Count { get; private set; }

    public ref PresenceEntry this[int index] => ref _items.AsSpan(0, Count)[index];

    public ReadOnlySpan<PresenceEntry> Span => _items.AsSpan(0, Count);

    public void Add(in PresenceEntry entry)
    {
        if (Count == _items.Length)
        {
            var larger = ArrayPool<PresenceEntry>.Shared.Rent(_items.Length * 2);
            _items.AsSpan(0, Count).CopyTo(larger);
            Release(_items, Count);
            _items = larger;
        }

        _items[Count++] = entry;
    }

    public void Return()
    {
        Release(_items, Count);
        _items = [];
        Count = 0;
    }

    private static void Release(PresenceEntry[] items, int count)
    {
        if (items.Length > 0)
        {
            Array.Clear(items, 0, count);
            ArrayPool<PresenceEntry>.Shared.Return(items);
        }
    }
}

/// <summary>
/// The board entries of one shard, parsed from their compact form <c>id|ver|status|until|specialties</c> (status
/// <c>o</c>, <c>r</c> or <c>f</c>; written by the presence script, docs/architecture.md, "Board entries"), by position.
/// Its per-entry methods are compiled optimised at once (docs/architecture.md, "Readers over shards").
/// </summary>
internal sealed class BoardCards
{
    private readonly Card[] _cards;
    private readonly Dictionary<string, int> _byId;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public BoardCards(RedisValue[] values)
    {
        _cards = new Card[values.Length];
        _byId = new Dictionary<string, int>(values.Length, StringComparer.Ordinal);
        _bySpan = _byId.GetAlternateLookup<ReadOnlySpan<char>>();
        // Therapists share a few combinations of specialties: one list per combination, not one per entry.
        var specialties = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (Card.TryParse(value, specialties, out var card) && _byId.TryAdd(card.Id, Count))
            {
                _cards[Count++] = card;
                OnlineCount += card.Status == (byte)'o' ? 1 : 0;
            }
        }
    }

    public int Count { get; }

    /// <summary>How many entries say online: equal to the online index's size when every online user has one.</summary>
    public int OnlineCount { get; }

    /// <summary>The position of a member's entry, or −1; the member's bytes are compared without making a string.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Find(RedisValue member, Span<char> chars)
    {
        ReadOnlyMemory<byte> bytes = member;
        return bytes.Length <= chars.Length && Encoding.UTF8.TryGetChars(bytes.Span, chars, out var length)
            && _bySpan.TryGetValue(chars[..length], out var card) ? card : -1;
    }

    public int Find(string id) => _byId.TryGetValue(id, out var card) ? card : -1;

    public string Id(int card) => _cards[card].Id;

    public bool IsOnline(int card) => _cards[card].Status == (byte)'o';

    public PresenceEntry Apply(int card, PresenceEntry entry)
    {
        ref readonly var c = ref _cards[card];
        return entry with
        {
            Specialties = c.Specialties,
            AvailableUntil = entry.Available && c.Until > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(c.Until) : null,
            Ver = c.Ver,
        };
    }

    private readonly record struct Card(string Id, long Ver, byte Status, long Until, string[] Specialties)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static bool TryParse(RedisValue value, Dictionary<string, string[]> specialties, out Card card)
        {
            card = default;
            ReadOnlyMemory<byte> memory = value;
            var rest = memory.Span;
            if (!Field(ref rest, out var id) || id.IsEmpty
                || !Field(ref rest, out var ver) || !Utf8Parser.TryParse(ver, out long version, out _)
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
                // A combination seen before is found by its characters, without a string per entry.
                Span<char> chars = stackalloc char[256];
                if (rest.Length > chars.Length || !Encoding.UTF8.TryGetChars(rest, chars, out var length)
                    || !specialties.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..length], out list!))
                {
                    var csv = Encoding.UTF8.GetString(rest);
                    list = csv.Split(',');
                    specialties[csv] = list;
                }
            }

            card = new Card(Encoding.UTF8.GetString(id), version, status[0], untilMs, list);
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
