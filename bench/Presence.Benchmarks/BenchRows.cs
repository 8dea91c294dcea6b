namespace Presence.Benchmarks;

/// <summary>
/// One row of the bench's final table: printed, and appended to the file named by <c>PRESENCE_BENCH_ROWS</c> when
/// set, so <c>./dev.sh bench</c> prints the rows of all three parts as one table at the end. Shared as a linked
/// source file by the load tool and the janitor benchmark.
/// </summary>
internal static class BenchRows
{
    /// <param name="met">null for a context figure without a goal.</param>
    public static void Write(TextWriter o, string figure, string value, string goal, bool? met)
    {
        var verdict = met switch { true => "met", false => "**missed**", null => "" };
        var row = $"| {figure} | {value} | {goal} | {verdict} |";
        o.WriteLine(row);
        if (Environment.GetEnvironmentVariable("PRESENCE_BENCH_ROWS") is { Length: > 0 } file)
        {
            File.AppendAllText(file, row + Environment.NewLine);
        }
    }
}
