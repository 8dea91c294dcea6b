using Microsoft.Extensions.Options;

namespace Presence.Core.Tests;

public sealed class ModelTests
{
    [Theory]
    [InlineData("t-1", true)]
    [InlineData("user.name@example.org", true)]
    [InlineData("A_b-9", true)]
    [InlineData("", false)]
    [InlineData("with space", false)]
    [InlineData("colon:inside", false)]
    [InlineData("brace{", false)]
    [InlineData("star*", false)]
    [InlineData("new\nline", false)]
    [InlineData("trailing-newline\n", false)]
    [InlineData("trailing-crlf\r\n", false)]
    [InlineData("ünicode", false)]
    public void User_ids_are_validated_before_they_touch_a_key(string id, bool valid) => Assert.Equal(valid, UserId.IsValid(id));

    [Fact]
    public void User_ids_are_at_most_128_characters()
    {
        Assert.True(UserId.IsValid(new string('a', 128)));
        Assert.False(UserId.IsValid(new string('a', 129)));
        Assert.False(UserId.IsValid(null));
    }

    [Theory]
    [InlineData("t-1", true)]
    [InlineData("user.name@example.org", true)]
    [InlineData("", false)]
    [InlineData("colon:inside", false)]
    [InlineData("trailing-newline\n", false)]
    [InlineData(null, false)]
    public void A_user_id_parses_only_what_could_be_a_key(string? text, bool valid)
    {
        Assert.Equal(valid, UserId.TryParse(text, out var id));
        Assert.Equal(valid ? text : null, id.Value);
        if (valid)
        {
            string asString = id;
            Assert.Equal(text, asString);
            Assert.Equal(text, id.ToString());
            Assert.True(UserId.TryParse(text, out var again) && again == id);
        }
        else
        {
            Assert.Equal(default, id);
        }
    }

    [Theory]
    [InlineData("""["t-1","user.name@example.org"]""", true)]
    [InlineData("""["t-1","colon:inside"]""", false)]
    [InlineData("""["t-1",""]""", false)]
    [InlineData("""["t-1",null]""", false)]
    [InlineData("""["t-1",7]""", false)]
    [InlineData("""["t-1",{"value":"t-2"}]""", false)]
    public void In_JSON_a_user_id_is_a_string_and_a_bad_one_fails_the_read(string json, bool valid)
    {
        if (valid)
        {
            var ids = System.Text.Json.JsonSerializer.Deserialize<UserId[]>(json)!;
            Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(ids));
        }
        else
        {
            var error = Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<UserId[]>(json));
            Assert.Contains("must match", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Keys_carry_the_shard_hash_tag_of_the_user_and_the_configured_prefix()
    {
        var keys = new PresenceKeys("presence");
        // The test vector of docs/architecture.md, "Shards": FNV-1a("t-1") = 1937193057, mod 16 = 1.
        Assert.Equal(1937193057u, PresenceKeys.Fnv1a("t-1"));
        Assert.Equal(1, keys.ShardOf("t-1"));
        Assert.Equal(4, keys.ShardOf("c-1"));
        Assert.Equal(14, keys.ShardOf("therapist-42"));
        Assert.Equal(2166136261u, PresenceKeys.Fnv1a(string.Empty));
        var t1 = keys.ShardTag(PresenceRole.Therapist, 1);
        var c1 = keys.ShardTag(PresenceRole.Community, 4);
        Assert.StartsWith("therapist:01.", t1, StringComparison.Ordinal);
        Assert.StartsWith("community:04.", c1, StringComparison.Ordinal);
        Assert.Equal("presence:{" + t1 + "}:lastseen", keys.LastSeen(PresenceRole.Therapist, "t-1").ToString());
        Assert.Equal("presence:{" + c1 + "}:online", keys.Online(PresenceRole.Community, 4).ToString());
        Assert.Equal("presence:{" + t1 + "}:available", keys.Available(PresenceRole.Therapist, 1).ToString());
        Assert.Equal("presence:{" + t1 + "}:user:t-1", keys.User(PresenceRole.Therapist, "t-1").ToString());
        Assert.Equal("presence:{" + c1 + "}:sessions:c-1", keys.Sessions(PresenceRole.Community, "c-1").ToString());
        Assert.Equal("presence:{" + t1 + "}:recent", keys.Recent(PresenceRole.Therapist, 1).ToString());
        Assert.Equal("presence:{" + t1 + "}:versions", keys.Versions(PresenceRole.Therapist, 1).ToString());
        Assert.Equal("presence:{" + t1 + "}:events", keys.Events(PresenceRole.Therapist, "t-1").ToString());
        Assert.Equal(16, keys.EventStreams(PresenceRole.Therapist).Count);
        Assert.Equal("presence:janitor:lease", keys.JanitorLease.ToString());
        Assert.Equal("other:{" + t1 + "}:online", new PresenceKeys("other").Online(PresenceRole.Therapist, 1).ToString());
    }

    [Fact]
    public void Each_shard_tag_lands_in_its_own_slice_of_the_slots()
    {
        // The shards spread evenly over primaries that own contiguous slot ranges (docs/architecture.md, "Shards").
        Assert.Equal(12182, PresenceKeys.Slot("foo"));
        Assert.Equal(5061, PresenceKeys.Slot("bar"));
        foreach (var shards in new[] { 1, 3, 16, 100 })
        {
            var keys = new PresenceKeys("p", shards);
            foreach (var role in Roles.All)
            {
                var slots = keys.AllShards.Select(s => PresenceKeys.Slot(keys.ShardTag(role, s))).ToArray();
                Assert.All(keys.AllShards, s => Assert.InRange(slots[s], s * 16384 / shards, ((s + 1) * 16384 / shards) - 1));
            }
        }
    }

    [Fact]
    public void A_user_key_is_recognised_only_with_its_own_shard()
    {
        var keys = new PresenceKeys("presence");
        Assert.True(keys.TryParseUserKey(keys.User(PresenceRole.Community, "c-1").ToString(), out var role, out var id));
        Assert.Equal((PresenceRole.Community, "c-1"), (role, id));
        Assert.False(keys.TryParseUserKey("presence:{" + keys.ShardTag(PresenceRole.Community, 5) + "}:user:c-1", out _, out _));
        Assert.False(keys.TryParseUserKey("other:{" + keys.ShardTag(PresenceRole.Community, 4) + "}:user:c-1", out _, out _));
        Assert.False(keys.TryParseUserKey(keys.Sessions(PresenceRole.Community, "c-1").ToString(), out _, out _));
        Assert.False(keys.TryParseUserKey("presence:{community}:user:c-1", out _, out _));
    }

    [Fact]
    public void Ids_are_grouped_by_shard_in_one_place()
    {
        var keys = new PresenceKeys("presence");
        var groups = ShardFanOut.GroupByShard(keys, ["c-1", "t-1", "x", "t-1"]);
        Assert.Equal(groups.Select(g => g.Shard).Order(), groups.Select(g => g.Shard));
        Assert.Equal([0, 1, 2, 3], groups.SelectMany(g => g.Positions).Order());
        Assert.Equal([1, 3], groups.Single(g => g.Shard == 1).Positions);
    }

    [Fact]
    public void The_board_sort_gives_the_comparers_order_with_runs_of_equal_keys_short_and_long()
    {
        // Activity in few distinct milliseconds (runs of equal keys of every length, one of 100), unknown activity,
        // every bucket; ids in no order, with long common prefixes, ids that are prefixes of others, and ids equal in
        // many units after their common prefix.
        var random = new Random(13);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        string[] prefixes = ["", "t", "t-", "rebuild-", "rebuild-1", "rebuild-1000000", "Z", "a.b@c_d"];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (ids.Count < 3_000)
        {
            ids.Add(prefixes[random.Next(prefixes.Length)] + (random.Next(3) == 0 ? "" : random.Next(2_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var entries = ids.Select((id, i) => new PresenceEntry(
            id, (PresenceStatus)random.Next(3), random.Next(2) == 0,
            random.Next(10) == 0 ? null : at.AddMilliseconds(-(i < 100 ? 7 : random.Next(i % 5 == 0 ? 3 : 400))), null)).ToArray();
        var expected = entries.ToList();
        expected.Sort(BoardOrder.Instance);

        BoardOrder.Sort(entries);

        Assert.Equal(expected.Select(e => e.Id), entries.Select(e => e.Id));
        Assert.Equal(expected, entries);
    }

    [Fact]
    public void Default_options_are_valid()
    {
        Assert.True(new PresenceOptionsValidator().Validate(null, new PresenceOptions()).Succeeded);
    }

    [Theory]
    [InlineData(3600, 3600, 86400, 30, 10, "Presence:OnlineWindow must be shorter than Presence:RecentWindow")]
    [InlineData(120, 90000, 86400, 30, 10, "Presence:RecentWindow must not exceed Presence:Retention")]
    [InlineData(120, 3600, 86400, 30, 30, "Presence:MinHeartbeatInterval must be shorter than Presence:HeartbeatInterval")]
    [InlineData(120, 3600, 86400, 150, 10, "Presence:HeartbeatInterval must be shorter than Presence:OnlineWindow")]
    [InlineData(0, 3600, 86400, 30, 10, "Presence:OnlineWindow must be positive")]
    public void Inconsistent_windows_fail_validation_at_start(int online, int recent, int retention, int heartbeat, int minInterval, string rule)
    {
        var options = new PresenceOptions
        {
            OnlineWindow = TimeSpan.FromSeconds(online),
            RecentWindow = TimeSpan.FromSeconds(recent),
            Retention = TimeSpan.FromSeconds(retention),
            HeartbeatInterval = TimeSpan.FromSeconds(heartbeat),
            MinHeartbeatInterval = TimeSpan.FromSeconds(minInterval),
        };
        var result = new PresenceOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(rule, StringComparison.Ordinal));
    }

    [Fact]
    public void A_prefix_with_braces_would_break_hash_tags_and_is_refused()
    {
        var result = new PresenceOptionsValidator().Validate(null, new PresenceOptions { KeyPrefix = "a{b}" });
        Assert.True(result.Failed);
        Assert.StartsWith("Presence:KeyPrefix ", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void Role_names_round_trip()
    {
        foreach (var role in Roles.All)
        {
            Assert.True(Roles.TryParse(role.Name(), out var parsed));
            Assert.Equal(role, parsed);
        }

        Assert.False(Roles.TryParse("admin", out _));
    }

    [Fact]
    public void Clock_skew_is_reported_only_beyond_the_threshold_in_whole_seconds_client_minus_server()
    {
        var o = new PresenceOptions();
        var server = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

        Assert.Null(o.ClockSkewSeconds(null, server));
        Assert.Null(o.ClockSkewSeconds(server.AddMinutes(5), server));
        Assert.Null(o.ClockSkewSeconds(server.AddMinutes(-5), server));
        Assert.Equal(301, o.ClockSkewSeconds(server.AddSeconds(300.6), server));
        Assert.Equal(-600, o.ClockSkewSeconds(server.AddMinutes(-10), server));
        Assert.Equal(30, new PresenceOptions().NextHeartbeatSeconds);
    }
}
