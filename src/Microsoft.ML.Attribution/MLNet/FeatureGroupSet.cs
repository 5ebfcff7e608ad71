using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// Feature groups of an explained feature vector: found from the chain's slot names (one group per source column, or per
/// source slot of a vector column with slot names), checked, and applied to attributions.
/// </summary>
internal static class FeatureGroupSet
{
    /// <summary>
    /// Groups the slots of <paramref name="featureColumn"/> by the source column they came from. ML.NET's Concatenate
    /// names a slot <c>Column.Slot</c> when its input has slot names (one-hot: <c>Workclass.Private</c>; a one-hot vector
    /// of categoricals: <c>Categories.education.Bachelors</c>) and <c>Column</c> for a scalar; each slot is matched
    /// to the longest source column name it starts with, then to the longest slot name of that column. Slots that match
    /// nothing stay features of their own. Null when the column carries no slot names.
    /// </summary>
    public static List<FeatureGroup>? FromSchema(DataViewSchema.Column featureColumn, DataViewSchema sourceSchema)
    {
        if (featureColumn.Type is not VectorDataViewType { IsKnownSize: true, Size: var size }) return null;
        if (featureColumn.Annotations.Schema.GetColumnOrNull("SlotNames") is not { Type: VectorDataViewType { Size: var n } } || n != size) return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        featureColumn.GetSlotNames(ref names);
        var slotNames = names.DenseValues().Select(m => m.ToString()).ToArray();

        var sources = sourceSchema.Where(c => !c.IsHidden).Select(c => (c.Name, Slots: SlotNamesOf(c))).OrderByDescending(c => c.Name.Length).ToArray();
        var order = new List<string>();
        var byName = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int j = 0; j < slotNames.Length; j++)
        {
            string slot = slotNames[j], group = slot;
            foreach (var (name, sourceSlots) in sources)
            {
                if (!Prefixes(slot, name, out var rest)) continue;
                group = name;
                if (rest.Length > 0 && sourceSlots is { Length: > 0 })
                {
                    var match = sourceSlots.Where(s => s.Length > 0 && Prefixes(rest, s, out _)).OrderByDescending(s => s.Length).FirstOrDefault();
                    if (match is not null) group = match;
                }
                break;
            }
            if (string.IsNullOrEmpty(group)) group = $"slot {j}";
            if (!byName.TryGetValue(group, out var list))
            {
                byName[group] = list = [];
                order.Add(group);
            }
            list.Add(j);
        }
        return order.Select(g => new FeatureGroup(g, byName[g].ToArray())).ToList();
    }

    private static bool Prefixes(string text, string prefix, out string rest)
    {
        rest = "";
        if (text == prefix) return true;
        if (text.Length > prefix.Length + 1 && text.StartsWith(prefix, StringComparison.Ordinal) && text[prefix.Length] == '.')
        {
            rest = text[(prefix.Length + 1)..];
            return true;
        }
        return false;
    }

    private static string[]? SlotNamesOf(DataViewSchema.Column column)
    {
        if (column.Type is not VectorDataViewType { IsKnownSize: true, Size: var size }) return null;
        if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is not { Type: VectorDataViewType { Size: var n } } || n != size) return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(m => m.ToString()).ToArray();
    }

    /// <summary>Groups must partition the slots: every slot in exactly one group, no empty group, unique names.</summary>
    public static void Check(IReadOnlyList<FeatureGroup> groups, int features, string column)
    {
        var seen = new int[features];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            if (group.Slots is not { Length: > 0 }) throw new ArgumentException($"ExplainOptions.FeatureGroups: group '{group.Name}' has no slots.");
            if (!names.Add(group.Name)) throw new ArgumentException($"ExplainOptions.FeatureGroups: the name '{group.Name}' is used twice.");
            foreach (int s in group.Slots)
            {
                if (s < 0 || s >= features)
                    throw new ArgumentException($"ExplainOptions.FeatureGroups: group '{group.Name}' names slot {s}; column '{column}' has slots 0..{features - 1}.");
                if (seen[s]++ > 0) throw new ArgumentException($"ExplainOptions.FeatureGroups: slot {s} of column '{column}' is in two groups.");
            }
        }
        int missing = Array.IndexOf(seen, 0);
        if (missing >= 0) throw new ArgumentException($"ExplainOptions.FeatureGroups: slot {missing} of column '{column}' is in no group; every slot needs one.");
    }

    /// <summary>The group id of every slot as a one-row feature mask [1, F].</summary>
    public static NdArray<long> Mask(IReadOnlyList<FeatureGroup> groups)
    {
        var mask = new long[groups.Sum(g => g.Slots.Length)];
        for (int g = 0; g < groups.Count; g++) foreach (int s in groups[g].Slots) mask[s] = g;
        return new NdArray<long>(mask, 1, mask.Length);
    }

    /// <summary>
    /// Per-slot attributions [n, F] → per-group [n, G]: summed over the group's slots (additive methods attributed per
    /// slot), or read from the group's first slot where the method attributed the group as one feature (then every slot
    /// of the group holds the group's value, as Captum returns masked attributions).
    /// </summary>
    public static NdArray<float> Collect(NdArray<float> slots, IReadOnlyList<FeatureGroup> groups, bool summed)
    {
        var result = new NdArray<float>(slots.Rows, groups.Count);
        for (int r = 0; r < slots.Rows; r++)
        {
            var row = slots.Row(r);
            var target = result.Row(r);
            for (int g = 0; g < groups.Count; g++)
            {
                if (!summed)
                {
                    target[g] = row[groups[g].Slots[0]];
                    continue;
                }
                double total = 0;
                foreach (int s in groups[g].Slots) total += row[s];
                target[g] = (float)total;
            }
        }
        return result;
    }
}
